"""Go's text/tabwriter, as docker's tables use it (min width 10, padding 3).

Cells are tab-terminated; the text after the last tab of a line is not part
of a column. A column's width is decided per block of consecutive lines that
all have that column, which is why docker's tables align the way they do.
"""

from __future__ import annotations


def tabwrite(text: str, minwidth: int = 10, padding: int = 3, padchar: str = " ") -> str:
    lines = [line.split("\t") for line in text.split("\n")]
    widths_of: list[list[int]] = [[] for _ in lines]

    def block(line0: int, line1: int, widths: list[int]) -> None:
        column = len(widths)
        i = line0
        while i < line1:
            if column < len(lines[i]) - 1:
                j = i
                width = minwidth
                while j < line1 and column < len(lines[j]) - 1:
                    width = max(width, len(lines[j][column]) + padding)
                    j += 1
                block(i, j, widths + [width])
                i = j
            else:
                widths_of[i] = widths
                i += 1

    block(0, len(lines), [])
    out = []
    for cells, widths in zip(lines, widths_of, strict=True):
        parts = [c + padchar * (w - len(c)) for c, w in zip(cells, widths, strict=False)]
        parts.append(cells[-1])
        out.append("".join(parts))
    return "\n".join(out)
