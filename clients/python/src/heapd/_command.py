"""Splits one heapd request line into arguments, by heapd's inline quoting rules (protocol.md §1).

The same rules as heapd's own tokenizer (Sources/HeapProtocol/InlineTokenizer.swift), so that
``session.execute('NEW s str "a b"')`` sends exactly what typing the line at ``heapctl`` sends: words
separated by spaces and tabs; ``"..."`` with the escapes ``\\" \\\\ \\n \\r \\t \\a \\b \\xHH``; ``'...'``
literal but for ``\\'``; a quote may open mid-word; a closing quote must be followed by a blank or the end.
The arguments are then sent as a RESP multibulk by redis-py, so they are bytes.
"""

from ._errors import HeapdError

_BLANKS = b" \t"
_ESCAPES = {
    ord("n"): b"\n",
    ord("r"): b"\r",
    ord("t"): b"\t",
    ord("a"): b"\x07",
    ord("b"): b"\x08",
    ord('"'): b'"',
    ord("\\"): b"\\",
}
_HEX = b"0123456789abcdefABCDEF"


def split_line(line):
    """The arguments of ``line`` (str or bytes) as a list of bytes; raises HeapdError("SYNTAX") as heapd would."""
    data = line.encode("utf-8") if isinstance(line, str) else bytes(line)
    if b"\n" in data.rstrip(b"\r\n") or b"\r" in data.rstrip(b"\r\n"):
        raise HeapdError("SYNTAX", "one request is one line: no line break inside it")
    data = data.rstrip(b"\r\n")
    arguments = []
    position = 0
    while True:
        while position < len(data) and data[position] in _BLANKS:
            position += 1
        if position == len(data):
            return arguments
        argument, position = _argument(data, position)
        arguments.append(argument)


def _argument(data, position):
    current = bytearray()
    quoting = None
    while True:
        if position == len(data):
            if quoting is not None:
                raise HeapdError("SYNTAX", "unbalanced quotes in request")
            return bytes(current), position
        byte = data[position]
        if quoting is None:
            if byte in _BLANKS:
                return bytes(current), position
            if byte == ord('"'):
                quoting = '"'
            elif byte == ord("'"):
                quoting = "'"
            else:
                current.append(byte)
            position += 1
        elif quoting == '"':
            if byte == ord("\\"):
                decoded, position = _escape(data, position)
                current += decoded
            elif byte == ord('"'):
                return bytes(current), _close_quote(data, position)
            else:
                current.append(byte)
                position += 1
        else:
            if byte == ord("\\") and position + 1 < len(data) and data[position + 1] == ord("'"):
                current.append(ord("'"))
                position += 2
            elif byte == ord("'"):
                return bytes(current), _close_quote(data, position)
            else:
                current.append(byte)
                position += 1


def _close_quote(data, position):
    position += 1
    if position < len(data) and data[position] not in _BLANKS:
        raise HeapdError("SYNTAX", "closing quote must be followed by a space or the end of the line")
    return position


def _escape(data, position):
    if position + 1 >= len(data):
        raise HeapdError("SYNTAX", "unbalanced quotes in request")
    kind = data[position + 1]
    if kind == ord("x"):
        digits = data[position + 2 : position + 4]
        if len(digits) != 2 or any(d not in _HEX for d in digits):
            raise HeapdError("SYNTAX", "invalid escape sequence in double-quoted argument")
        return bytes([int(digits, 16)]), position + 4
    if kind not in _ESCAPES:
        raise HeapdError("SYNTAX", "invalid escape sequence in double-quoted argument")
    return _ESCAPES[kind], position + 2
