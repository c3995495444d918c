"""The runtime: classify, de-noise, de-click, fill gaps. Imports only :mod:`echoes.core` and :mod:`echoes.models`."""
