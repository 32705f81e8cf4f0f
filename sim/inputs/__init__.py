"""Inputs: everything a run is given, declared once and checked before anything runs.

Owns the declarations (`declare`: a declared number; `chain`: the stages of the value chain; `params`: every
model parameter; `levers`: the policy levers), the scenario files and their schema generated from those
declarations (`scenario`), the one guarded place where a path from input becomes text (`files`), the sourced data
files and their loaders (`data`, ``data/``), units (`units`), `InputError` (`errors`) and the message catalogue
(`catalogue`: every word a reader sees, in English and Chinese). The lowest room: it
imports nothing else of the project.
"""
