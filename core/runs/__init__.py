"""The run folder and the checkpoint inside it: file names (:mod:`.layout`), the lock and
the one-writer policy (:mod:`.folder`), the typed checkpoint and its artifacts
(:mod:`.checkpoint`), the published layout and export, the saved scores, the history,
and the list of runs with their one status (:mod:`.status`)."""
