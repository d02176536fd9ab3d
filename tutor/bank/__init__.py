"""The question bank: YAML files in, validated question models out."""

from tutor.bank.loader import Bank, Problem, Topic, load_bank, load_file, load_paths

__all__ = ["Bank", "Problem", "Topic", "load_bank", "load_file", "load_paths"]
