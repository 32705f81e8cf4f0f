"""Rebuild the bundled CJK font subset (run by hand; needs Debian's fonts-noto-cjk and fontTools).

Keeps ASCII, CJK punctuation and all 6,763 characters of GB 2312 (levels 1 and 2: 锂, lithium, is level 2),
enough for every label, unit (亿元) and Chinese scenario name a planner is likely to write.
Noto Sans CJK is under the SIL Open Font License 1.1 (OFL.txt beside this file); the subset is renamed as
the license asks of modified versions.
"""

from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTCollection

SOURCE = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
OUT = Path(__file__).with_name("LithiumSimCJK-Regular.otf")


def charset() -> str:
    chars = {chr(c) for c in range(0x20, 0x7F)} | set("，。、：；！？（）《》“”‘’—…·％－～　【】")
    for hi in range(0xB0, 0xF8):
        for lo in range(0xA1, 0xFF):
            try:
                chars.add(bytes([hi, lo]).decode("gb2312"))
            except UnicodeDecodeError:
                pass
    return "".join(sorted(chars))


def main() -> None:
    collection = TTCollection(SOURCE)
    font = next(f for f in collection.fonts if "SC" in f["name"].getDebugName(1))
    options = subset.Options()
    options.name_IDs = ["*"]
    options.layout_features = ["*"]
    sub = subset.Subsetter(options)
    sub.populate(text=charset())
    sub.subset(font)
    for record in font["name"].names:
        if record.nameID in (1, 3, 4, 6, 16):
            record.string = (
                "LithiumSimCJK-Regular"
                if record.nameID in (4, 6) and record.nameID == 6
                else ("LithiumSim CJK" if record.nameID in (1, 16) else "LithiumSim CJK Regular")
            )
    font.save(OUT)
    print(f"wrote {OUT} ({OUT.stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
