"""A TOSCA PyCOMPSs job's arguments cut into words as the plugin's shell cut them.

Why: the eFlows4HPC PyCOMPSs plugins (``org.eflows4hpc.pycompss.plugin`` and the older
``pycomps.ansible``) join ``command`` and ``arguments`` with spaces into one ``bash -c``
line after exporting every execution input (pycompss-yorc-plugin, job/execution.go:
``strings.Join(Arguments, " ")``). So a registry argument ``"--seistype $seis_type"``
(ftrt) or ``"--hpc mn4"`` (esm) reached the application as two words, an unquoted
``${Case_type}`` that is empty as no word at all, and quotes written in an argument
grouped words. An application parsing its options (argparse, getopt) fails on
``"--hpc mn4"`` passed as one word, so these steps' arguments are cut the same way.

What is followed of bash: blanks separate words outside quotes; ``'...'`` is literal;
``"..."`` keeps blanks and expands references; a backslash quotes the next character
(inside ``"..."`` only before ``$ " \\`` and a newline); an unquoted reference's value
is split on blanks and an unquoted empty one makes no word. Not followed: globbing,
``~``, command substitution and the other expansions (the registry's arguments use
none); ``$$`` stays this project's literal ``$``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from eflows_kernel.services.workflows.inputs import _REFERENCE, reference_text

PLUGIN_JOBS = frozenset({"org.eflows4hpc.pycompss.plugin.nodes.PyCOMPSJob",
                         "pycomps.ansible.nodes.PyCOMPSJob"})
_BLANKS = " \t\n"


class _Words:
    """The words being built: the current one, and whether anything (a quote, a
    character) started it, so ``""`` is a word and an empty expansion is not."""

    def __init__(self) -> None:
        self.done: list[str] = []
        self.current: list[str] = []
        self.started = False

    def add(self, text: str) -> None:
        self.current.append(text)
        self.started = True

    def end(self) -> None:
        if self.started:
            self.done.append("".join(self.current))
        self.current, self.started = [], False

    def expand(self, value: str) -> None:
        """An unquoted expansion: its value split on blanks (field splitting)."""
        if not value:
            return
        pieces = value.split()
        if value[0] in _BLANKS:
            self.end()
        for index, piece in enumerate(pieces):
            if index:
                self.end()
            self.add(piece)
        if value[-1] in _BLANKS:
            self.end()


def shell_words(template: str, values: Mapping[str, Any]) -> list[str]:
    """The words one argument template makes on the plugin's command line."""
    words = _Words()
    quote: str | None = None
    i = 0
    while i < len(template):
        char = template[i]
        if quote == "'":
            if char == "'":
                quote = None
            else:
                words.add(char)
            i += 1
            continue
        if char == "\\" and i + 1 < len(template):
            following = template[i + 1]
            if quote is None or following in '$"\\\n':
                words.add(following)
                i += 2
                continue
        if char == "$":
            match = _REFERENCE.match(template, i)
            if match is not None:
                text = reference_text(match, template, values)
                if quote is None and match.group(0) != "$$":
                    words.expand(text)
                else:
                    words.add(text)
                i = match.end()
                continue
        if quote is None and char in "'\"":
            quote = char
            words.add("")
        elif quote == '"' and char == '"':
            quote = None
        elif quote is None and char in _BLANKS:
            words.end()
        else:
            words.add(char)
        i += 1
    words.end()
    return words.done


def plugin_arguments(templates: list[str], values: Mapping[str, Any]) -> list[str]:
    """A plugin job's argument list filled and cut into the words its shell made."""
    return [word for template in templates for word in shell_words(str(template), values)]


__all__ = ["PLUGIN_JOBS", "plugin_arguments", "shell_words"]
