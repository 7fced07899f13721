"""The restriction conditions under DataJoint's module path, ``datajoint.condition``.

DataJoint 2.x code that imports its condition classes from their module
(``from datajoint.condition import Top``) finds djframe's own here: :class:`Top` (ORDER BY with
LIMIT, :mod:`djframe.algebra.top`), :class:`AndList` and :class:`Not`
(:mod:`djframe.algebra.condition`). They are the same objects as ``dj.Top``, ``dj.AndList`` and
``dj.Not``.

Examples
--------
>>> import djframe as dj
>>> from djframe.condition import Top
>>> Top is dj.Top
True
"""

from djframe.algebra.condition import AndList, Not
from djframe.algebra.top import Top

__all__ = ["AndList", "Not", "Top"]
