"""The ground floor: the small types every stage and output shares (frame and prediction
messages, the bounded queue, the rate and latency meters). They import nothing of vidclf above
:mod:`vidclf.errors`, so streaming stages, sinks and the orchestration can all depend on them."""
