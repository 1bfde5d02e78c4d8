"""FATE's delimited text files <-> Arrow record batches.

A line is a row: its first field is the row's id (FATE's key), the other fields its values.
Fields are split on one delimiter character and kept as text, byte for byte: no quoting, no
escaping, no type conversion. FATE does the same (DataTransform turns text into numbers
later), and it is what makes a download give back the uploaded bytes.

Reading streams: pyarrow's CSV reader parses blocks of about `MAX_LINE_BYTES`, and the bytes
pass a check on their way to it (UTF-8, line length) that also counts lines, so every error
names the line at fault. Memory stays bounded by the block size whatever the file's size.
"""

from __future__ import annotations

import codecs
from collections import deque
from collections.abc import Iterable, Iterator
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from fateflow_grpc.errors import InvalidArgument

#: The longest line accepted, newline excluded. pyarrow needs every row inside one parse block,
#: and the blocks are what an upload holds in memory at once.
MAX_LINE_BYTES = 1 << 20
_BLOCK_SIZE = MAX_LINE_BYTES + (64 << 10)
#: What one read gives pyarrow, about: see `_CheckedStream.read`.
_READ_SIZE = 256 << 10
#: About the size of the record batches read.
_BATCH_BYTES = 4 << 20
_UTF8_BOM = codecs.BOM_UTF8


def check_delimiter(delimiter: str) -> None:
    """The parser splits on one byte: a delimiter is one ASCII character, not a line end."""
    if len(delimiter) != 1 or not delimiter.isascii() or delimiter in "\r\n":
        raise InvalidArgument(
            f"the delimiter must be one ASCII character, not {delimiter!r}", delimiter=delimiter
        )


def text_schema(names: list[str]) -> pa.Schema:
    """A table of FATE text: every column a string, none nullable."""
    return pa.schema([pa.field(name, pa.string(), nullable=False) for name in names])


class DelimitedReader:
    """The rows of a delimited file given as chunks of bytes, as Arrow record batches.

    With `head`, the first line names the columns; without, they are called `id`, `x0`,
    `x1`, ... after the first line's field count. Every column is a string. Iterating raises
    `InvalidArgument` naming the line for: a file that is empty or has no rows, bytes that
    are not UTF-8, a line longer than `MAX_LINE_BYTES`, a row whose field count differs from
    the header's (or the first line's), an empty id (a blank line, or one that starts with
    the delimiter).
    """

    def __init__(self, chunks: Iterable[bytes], *, delimiter: str, head: bool) -> None:
        check_delimiter(delimiter)
        self._delimiter = delimiter
        self._head = head
        self._stream = _CheckedStream(iter(chunks))
        first = self._stream.readline()
        if not first:
            raise InvalidArgument("the file is empty")
        if first.startswith(_UTF8_BOM):  # spreadsheet exports begin with one
            first = first[len(_UTF8_BOM) :]
        fields = first.rstrip(b"\r\n").decode().split(delimiter)
        if head:
            self.names = _header_names(fields)
        else:
            self._stream.unread(first)
            self.names = ["id", *(f"x{i}" for i in range(len(fields) - 1))]
        self.schema = text_schema(self.names)
        #: Data rows read so far (every row has one line).
        self.rows = 0

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        invalid: list[pa_csv.InvalidRow] = []

        def refuse(row: pa_csv.InvalidRow) -> str:
            invalid.append(row)
            return "error"

        try:
            reader = pa_csv.open_csv(
                pa.PythonFile(self._stream, mode="r"),
                read_options=pa_csv.ReadOptions(
                    # One thread: pyarrow then numbers rows, which gives an error its line.
                    use_threads=False,
                    block_size=_BLOCK_SIZE,
                    column_names=self.names,
                ),
                parse_options=pa_csv.ParseOptions(
                    delimiter=self._delimiter,
                    quote_char=False,
                    double_quote=False,
                    escape_char=False,
                    newlines_in_values=False,
                    ignore_empty_lines=False,
                    invalid_row_handler=refuse,
                ),
                convert_options=pa_csv.ConvertOptions(
                    column_types=dict.fromkeys(self.names, pa.string()),
                    # The stream checked UTF-8 already, much faster than a per-value check.
                    check_utf8=False,
                    strings_can_be_null=False,
                    quoted_strings_can_be_null=False,
                ),
            )
            # pyarrow parses short blocks (see `_CheckedStream.read`); fewer, larger batches
            # cost less per row downstream.
            parsed: list[pa.RecordBatch] = []
            size = 0
            for batch in reader:
                parsed.append(batch)
                size += batch.nbytes
                if size >= _BATCH_BYTES:
                    yield self._combined(parsed)
                    parsed, size = [], 0
            if parsed:
                yield self._combined(parsed)
        except pa.ArrowInvalid as error:
            if invalid:
                raise self._field_count_error(invalid[0]) from None
            if self.rows or "Empty CSV file" not in str(error):
                raise InvalidArgument(f"the file cannot be read: {error}") from None
        if self.rows == 0:
            raise InvalidArgument("the file has a header line but no rows")

    def _combined(self, parsed: list[pa.RecordBatch]) -> pa.RecordBatch:
        columns = pa.Table.from_batches(parsed).combine_chunks().columns
        batch = pa.RecordBatch.from_arrays([c.chunk(0) for c in columns], schema=self.schema)
        self._check_ids(batch.column(0))
        self.rows += batch.num_rows
        return batch

    def _line(self, row_index: int) -> int:
        """The line number of data row `row_index` (0-based)."""
        return row_index + 1 + self._head

    def _field_count_error(self, row: pa_csv.InvalidRow) -> InvalidArgument:
        # `number` counts the rows pyarrow read, from 1; pyarrow knows it single-threaded.
        line = row.number + self._head if row.number is not None else None
        where = f"line {line}" if line is not None else "a line"
        if not row.text:
            return InvalidArgument(f"{where} is empty", line=line)
        source = "the header" if self._head else "line 1"
        fields = f"{row.actual_columns} field" + ("s" if row.actual_columns > 1 else "")
        return InvalidArgument(
            f"{where} has {fields} where {source} has {row.expected_columns} "
            f"(delimiter {self._delimiter!r})",
            line=line,
        )

    def _check_ids(self, ids: pa.Array) -> None:
        empty = pc.equal(pc.binary_length(ids), 0)
        if pc.any(empty).as_py():
            line = self._line(self.rows + pc.index(empty, True).as_py())
            raise InvalidArgument(
                f"line {line} has an empty id (a blank line, or a line that starts with the "
                "delimiter)",
                line=line,
            )


def _header_names(fields: list[str]) -> list[str]:
    seen: set[str] = set()
    for position, name in enumerate(fields, start=1):
        if not name:
            raise InvalidArgument(f"the header's field {position} is empty", field=position)
        if name in seen:
            raise InvalidArgument(f"the header names column {name!r} twice", column=name)
        seen.add(name)
    return fields


class _CheckedStream:
    """A file's bytes on their way to pyarrow, checked as they pass.

    Every byte must belong to UTF-8 text and every line must be at most `MAX_LINE_BYTES`
    long; the checks run once per chunk at C speed (`isascii`, `count`, `find`), so a file
    of plain ASCII costs almost nothing. Counting newlines lets an error name its line.
    pyarrow reads it through `pyarrow.PythonFile`, which needs `read` and `closed`.
    """

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._pieces: deque[bytes] = deque()  # checked, not yet read
        self._buffered = 0
        self._lines = 0  # newlines checked so far
        self._line_length = 0  # bytes checked since the last newline
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self._inside_character = False  # the last piece ended inside a UTF-8 sequence
        self._exhausted = False
        self.closed = False

    def read(self, size: int = -1) -> bytes:
        """About `_READ_SIZE` bytes ending at a line's end (fewer at the file's end).

        pyarrow asks for `_BLOCK_SIZE` bytes and queues 32 reads ahead of its parser; short
        reads keep that queue small, and ending each at a line's end lets a line be as long
        as a whole block.
        """
        limit = size if size >= 0 else MAX_LINE_BYTES
        while self._buffered < min(limit, _READ_SIZE) and self._fill():
            pass
        data = self._take(min(limit, _READ_SIZE, self._buffered))
        while True:
            end = data.rfind(b"\n")
            if end >= 0:
                self.unread(data[end + 1 :])
                return data[: end + 1]
            if len(data) >= limit or not (self._buffered or self._fill()):
                return data  # the file's end, or a read short of a whole line (readline's)
            data += self._take(min(limit - len(data), self._buffered))

    def _take(self, size: int) -> bytes:
        """The first `size` buffered bytes, removed from the buffer."""
        taken: list[bytes] = []
        wanted = size
        while wanted:
            piece = self._pieces.popleft()
            if len(piece) > wanted:
                self._pieces.appendleft(piece[wanted:])
                piece = piece[:wanted]
            taken.append(piece)
            wanted -= len(piece)
        self._buffered -= size
        return b"".join(taken)

    def readline(self) -> bytes:
        """The first line, newline included (the line-length check bounds what it holds)."""
        data = b""
        while True:
            end = data.find(b"\n")
            if end >= 0:
                self.unread(data[end + 1 :])
                return data[: end + 1]
            more = self.read(64 << 10)
            if not more:
                return data
            data += more

    def unread(self, data: bytes) -> None:
        if data:
            self._pieces.appendleft(data)
            self._buffered += len(data)

    def _fill(self) -> bool:
        """Check the next chunk of the source into the buffer; False at its end."""
        if self._exhausted:
            return False
        chunk = next(self._chunks, None)
        if chunk is None:
            self._exhausted = True
            self._end()
            return False
        # Pieces no longer than a line may be: a line inside one piece is short enough.
        for start in range(0, len(chunk), MAX_LINE_BYTES):
            piece = chunk[start : start + MAX_LINE_BYTES] if len(chunk) > MAX_LINE_BYTES else chunk
            self._check(piece)
            self._pieces.append(piece)
            self._buffered += len(piece)
        return True

    def _check(self, piece: bytes) -> None:
        if self._inside_character or not piece.isascii():
            self._check_utf8(piece)
        first = piece.find(b"\n")
        if first < 0:
            self._line_length += len(piece)
            if self._line_length > MAX_LINE_BYTES:
                raise self._too_long()
            return
        if self._line_length + first > MAX_LINE_BYTES:
            raise self._too_long()
        self._lines += piece.count(b"\n")
        self._line_length = len(piece) - piece.rfind(b"\n") - 1

    def _check_utf8(self, piece: bytes) -> None:
        carried = len(self._decoder.getstate()[0])
        try:
            self._decoder.decode(piece)
        except UnicodeDecodeError as error:
            at = max(error.start - carried, 0)
            line = self._lines + piece.count(b"\n", 0, at) + 1
            bad = error.object[error.start]
            raise InvalidArgument(
                f"line {line} is not UTF-8 text (byte 0x{bad:02x})", line=line
            ) from None
        self._inside_character = bool(self._decoder.getstate()[0])

    def _end(self) -> None:
        if self._inside_character:
            line = self._lines + 1
            raise InvalidArgument(f"line {line} ends inside a UTF-8 character", line=line)

    def _too_long(self) -> InvalidArgument:
        line = self._lines + 1
        return InvalidArgument(
            f"line {line} is longer than {MAX_LINE_BYTES} bytes, the longest line accepted",
            line=line,
        )


def write_delimited(
    batches: Iterable[pa.RecordBatch],
    out: BinaryIO,
    *,
    delimiter: str,
    header: list[str] | None,
) -> int:
    """Write rows as lines of fields joined by `delimiter`, after a header line if given.

    Returns the number of rows written. Values are written as they are: pyarrow's CSV writer
    does it fast, and where it refuses (a value holding a quote, which FATE's text may) the
    batch is joined field by field instead.
    """
    check_delimiter(delimiter)
    if header is not None:
        out.write((delimiter.join(header) + "\n").encode())
    options = pa_csv.WriteOptions(include_header=False, delimiter=delimiter, quoting_style="none")
    rows = 0
    for batch in batches:
        sink = pa.BufferOutputStream()
        try:
            pa_csv.write_csv(batch, sink, write_options=options)
            out.write(sink.getvalue())
        except pa.ArrowInvalid:
            out.write(_joined_lines(batch, delimiter))
        rows += batch.num_rows
    return rows


def _joined_lines(batch: pa.RecordBatch, delimiter: str) -> pa.Buffer:
    lines = pc.binary_join_element_wise(*batch.columns, delimiter)
    lines = pc.binary_join_element_wise(lines, pa.scalar(""), "\n")
    # The joined values lie back to back in the data buffer: that is the text to write.
    offsets = np.frombuffer(lines.buffers()[1], np.int32, len(lines) + 1, lines.offset * 4)
    return lines.buffers()[2][int(offsets[0]) : int(offsets[-1])]


def key_values(table: pa.Table, delimiter: str) -> list[list[str]]:
    """Rows as FATE keeps them: the id, and the other fields joined by the delimiter."""
    ids = table.column(0).to_pylist()
    if table.num_columns == 1:
        return [[key, ""] for key in ids]
    values = pc.binary_join_element_wise(*table.columns[1:], delimiter).to_pylist()
    return [[key, value] for key, value in zip(ids, values, strict=True)]
