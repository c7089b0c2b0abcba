"""``core.foundation.config``: settings shared by every front end."""

from __future__ import annotations

import pytest


def test_parse_hidden_dims_is_shared_by_every_front_end():
    from core.foundation.config import parse_hidden_dims
    from core.foundation.errors import ChexminiError

    assert parse_hidden_dims("1024, 256,64") == [1024, 256, 64]
    assert parse_hidden_dims("") == []
    for bad in ("a,b", "64,0", "1.5"):
        with pytest.raises(ChexminiError, match="hidden dims"):
            parse_hidden_dims(bad)
