"""Training and evaluation: what builds the shipped models and measures quality against labelled data.

Above every runtime package; the runtime never imports it; the CLI's `eval` commands (inside
each command, so the CLI starts without torch) and `make train`/`make eval` do.

The training modules need the ``train`` extra (torch, transformers, sentence-transformers and
the base weights), which running, serving and testing podtwin do not install. What they build
stays beside the runtime modules that load it (``text/punctuator.npz``, ``clean/sponsors.npz``,
``speakers/attribution.npz``, ``speakers/speaker_calibration.json``, ``twin/calibration.json``,
``twin/paraphrase.json``, ``search/models/*``). Hand-written evaluation data of its own is in ``data/``.

- Evaluation: ``evaluate_sentences`` (the punctuator's sentence boundaries),
  ``evaluate_sponsors`` (sponsor-read tagging), ``evaluate_speakers`` (speaker attribution),
  ``evaluate_purity`` (a twin quotes only its person), ``evaluate_search`` (retrieval),
  ``evaluate_twin`` (the twin's answers), ``evaluate_watch_topics`` (the creator's watch topics,
  on hand-labelled examples in ``data/``).
- Training: ``train_punctuator``, ``train_sponsors``, ``train_attribution``,
  ``train_speaker_calibration``, ``train_twin_calibration`` (the twin's abstention),
  ``train_paraphrase`` (which questions a pin or block applies to; also its evaluation),
  ``train_watch_threshold`` (the watch topics' threshold, into the same calibration), and
  the retriever and re-ranker: ``retriever_pairs`` (their training pairs), ``train_retriever``,
  ``export_onnx`` (to the int8 ONNX files the runtime loads).
"""
