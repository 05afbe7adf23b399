"""Output formats: table, JSON, CSV, OCSF 1.5 and a self-contained HTML report, each a
module registered in ``FORMATS`` (see ``interface``). OCSF loads its models (pydantic)
only when it renders."""

from clamp.outputs import csv_format as _csv  # noqa: F401  (registers the formats)
from clamp.outputs import html as _html  # noqa: F401
from clamp.outputs import json_format as _json  # noqa: F401
from clamp.outputs import ocsf as _ocsf  # noqa: F401
from clamp.outputs import table as _table  # noqa: F401
from clamp.outputs.interface import FORMATS, Report, Subject, formats_for, render

__all__ = ["FORMATS", "Report", "Subject", "formats_for", "render"]
