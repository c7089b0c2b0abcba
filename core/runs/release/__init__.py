"""What chexmini releases beside its code: the shipped checkpoint (:mod:`.shipped` — where
it is, which checkpoint a command uses when none is given, and the rule that keeps it
read-only) and the model card every checkpoint folder carries (:mod:`.card`)."""
