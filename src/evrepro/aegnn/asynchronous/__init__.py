"""Exact asynchronous (event-by-event) GraphRes inference: the engine, its graphs and restricted layers."""

from evrepro.aegnn.asynchronous.engine import AsyncGraphRes

__all__ = ["AsyncGraphRes"]
