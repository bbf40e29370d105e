"""Resource ids: UUID version 7, ordered by creation time.

Lists order by creation time, then id. With time-ordered ids, two resources
created in the same millisecond by one process still list in creation order,
and PostgreSQL appends new index entries at the end of the index.
"""

import os
import threading
import time
import uuid

_lock = threading.Lock()
_last_millis = 0
_sequence = 0


def new_id() -> uuid.UUID:
    """Return a UUIDv7 (RFC 9562 section 5.7) that sorts after the previous one.

    Within one millisecond a 12-bit counter in ``rand_a`` keeps the order; the
    other 62 bits are random.
    """
    global _last_millis, _sequence
    with _lock:
        millis = time.time_ns() // 1_000_000
        if millis <= _last_millis:
            millis = _last_millis
            _sequence += 1
            if _sequence > 0xFFF:
                millis += 1
                _sequence = 0
        else:
            _sequence = 0
        _last_millis = millis
        sequence = _sequence

    random_bits = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
    value = (millis & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= sequence << 64
    value |= 0b10 << 62
    value |= random_bits
    return uuid.UUID(int=value)
