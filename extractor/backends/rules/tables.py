"""Flattened indicator tables: a header row of cells, then rows of the same width."""

from __future__ import annotations

import re

from ...chunk import Chunk
from ...models import Target
from .targets import Draft, make_target
from .values import Value, code_of, find_values, to_number


def parse_table(text: str, start: int, end: int, chunk: Chunk) -> list[Target]:
    """A flattened indicator table: header cells, then rows of the same width."""
    cells: list[tuple[int, str]] = []
    pos = start
    for line in text[start:end].split("\n"):
        if line.strip():
            cells.append((pos, line.strip()))
        pos += len(line) + 1
    header_at = next((i for i, (_, c) in enumerate(cells) if c.startswith("指标")), None)
    if header_at is None:
        return []
    first_row = next((i for i in range(header_at + 1, len(cells)) if code_of(cells[i][1])[0] != "other"
                      or _is_value_cell(cells[i + 1][1] if i + 1 < len(cells) else "")), None)
    if first_row is None:
        return []
    headers = [c for _, c in cells[header_at + 1:first_row]]
    width = len(headers) + 1
    review_year = int(str(chunk.context["review_period"])[:4])
    out: list[Target] = []
    for r in range(first_row, len(cells), width):
        row = cells[r:r + width]
        row_start, name = row[0]
        unit_in_name = re.search(r"[(（]([^)）]+)[)）]$", name)
        indicator = re.sub(r"[(（][^)）]*[)）]$", "", name)
        code, _ = code_of(indicator)
        for header, (_, cell) in zip(headers, row[1:]):
            if "排名" in header or "排位" in header or cell in {"--", "-", "—", "/"}:
                continue
            status = "achieved" if re.search(r"完成|实际|实绩", header) else "planned"
            qualifier = "上半年" if "上半年" in header else None
            year = int(m.group(1)) if (m := re.search(r"(\d{4})年", header)) else review_year
            values = find_values(cell) or ([Value(0, 0, to_number(cell), None, unit_in_name.group(1), "equal", "level")]
                                           if unit_in_name and re.fullmatch(r"-?\d+(\.\d+)?", cell) else [])
            if values:
                v = values[0]
                if cell.startswith("-") and v.number > 0 and v.measure != "points":
                    v.number = -v.number
                if v.unit == "%" and not re.search(r"率|比重|占比|强度", indicator):
                    v.measure = "growth"
                draft = Draft(indicator, v, row_start, row_start + len(name), qualifier=qualifier)
            else:
                measure = "growth" if re.search(r"增长", cell) else "level"
                q = f"{qualifier},{cell}" if qualifier else cell
                draft = Draft(indicator, None, row_start, row_start + len(name), qualifier=q, measure=measure)
            if (t := make_target(draft, text, status, year, True)) is not None:
                out.append(t)
    return out


def _is_value_cell(cell: str) -> bool:
    return bool(re.fullmatch(r"-?\d+(?:\.\d+)?%?(?:左右|以内|以上|以下)?|--|-|—", cell))
