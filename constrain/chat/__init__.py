"""The request layer: a chat-completions request body, run on a local model.

It sits on top of the engine (``compile`` -> ``Matcher`` -> masks) and turns the hosted API's
request into calls of it:

* :mod:`constrain.chat.request` — parse and validate a body into a frozen ``ChatRequest``;
* :mod:`constrain.chat.sampling` — the sampling fields as stages over numpy logits (``Sampler``);
* :mod:`constrain.chat.generate` — a generation loop on a Hugging Face causal LM, with jump-forward
  (the ``constrain generate`` command);
* :mod:`constrain.chat.completions` — ``run_chat`` / ``stream_chat``: a whole request (prompt
  rendering, tools, reasoning, ``n`` choices, stop strings, streaming).

Their public names are re-exported by :mod:`constrain`; this package file itself imports nothing.

Imports: the engine's public names only (no name starting with ``_``, no private module), and one
another; the engine never imports this package (``tests/test_layout.py`` checks both).
"""
