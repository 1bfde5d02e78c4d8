"""FATE's delimited text files <-> Arrow record batches.

A line is a row: its first field is the row's id (FATE's key), the other fields its values.
Fields are split on one delimiter character and kept as text, byte for byte: no quoting, no
escaping, no type conversion. FATE does the same (DataTransform turns text into numbers
later), and it is what makes a download give back the uploaded bytes.

Reading streams, in one pass with no Python per row. The bytes pass a check on their way
(UTF-8, line length; `isascii` and `find` at C speed); a bad line ends the stream just before
it. The checked bytes are cut into blocks of whole lines (about 2 MB), and pyarrow's CSV
parser parses the blocks on every core at once, each block in one thread: pyarrow then
numbers the block's rows, and as every line is a row, the rows of the blocks before it give
their lines, so every error names its line. A few blocks are parsed ahead of the one being
written: memory stays bounded whatever the file's size.
"""

from __future__ import annotations

import codecs
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from fateflow_grpc.errors import InvalidArgument

#: The longest line accepted, newline excluded.
MAX_LINE_BYTES = 1 << 20
#: About the size of a block of lines parsed at once, and so of the record batches read.
_BLOCK_BYTES = 2 << 20
#: Blocks parsed ahead of the one being written, per core.
_BLOCKS_AHEAD_PER_CORE = 2
_UTF8_BOM = codecs.BOM_UTF8
#: The id column's name with FATE's `extend_sid`.
EXTEND_SID = "extend_sid"


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

    With `extend_sid` (FATE's upload of the same name), every field of a line is a column, the
    first one too, and an id column named `extend_sid` comes first: `extend_sid` followed by
    the row's index from 0 (the index alone when `extend_sid` is empty).
    """

    def __init__(
        self,
        chunks: Iterable[bytes],
        *,
        delimiter: str,
        head: bool,
        extend_sid: str | None = None,
    ) -> None:
        check_delimiter(delimiter)
        self._delimiter = delimiter
        self._head = head
        self._extend_sid = extend_sid
        self._stream = _CheckedStream(iter(chunks))
        first = self._stream.readline()
        if self._stream.problem is not None and not first.endswith(b"\n"):
            raise self._stream.problem(1)  # the first line is the bad one
        if not first:
            raise InvalidArgument("the file is empty")
        if first.startswith(_UTF8_BOM):  # spreadsheet exports begin with one
            first = first[len(_UTF8_BOM) :]
        fields = first.rstrip(b"\r\n").decode().split(delimiter)
        if not head:
            self._stream.unread(first)
        if extend_sid is None:
            self.names = (
                _header_names(fields)
                if head
                else ["id", *(f"x{i}" for i in range(len(fields) - 1))]
            )
            self._file_names = self.names
        else:
            self._file_names = (
                _header_names(fields, id_first=False)
                if head
                else [f"x{i}" for i in range(len(fields))]
            )
            self.names = [EXTEND_SID, *self._file_names]
        self.schema = text_schema(self.names)
        self._file_schema = text_schema(self._file_names)
        #: Data rows read so far (every row has one line).
        self.rows = 0

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
        pool = ThreadPoolExecutor(cores, thread_name_prefix="csv-parse")
        pending: deque[Future[pa.RecordBatch | pa_csv.InvalidRow]] = deque()
        try:
            while True:
                while len(pending) < _BLOCKS_AHEAD_PER_CORE * cores:
                    block = self._stream.read_lines(_BLOCK_BYTES)
                    if not block:
                        break
                    pending.append(pool.submit(self._parse, block))
                if not pending:
                    break
                batch = pending.popleft().result()
                if isinstance(batch, pa_csv.InvalidRow):
                    # Every line is a row: the rows before this block's give its first line.
                    raise self._field_count_error(batch, self._line(self.rows))
                if self._extend_sid is None:
                    self._check_ids(batch.column(0))
                else:
                    batch = self._with_extend_sid(batch)
                self.rows += batch.num_rows
                yield batch
        finally:
            pool.shutdown(cancel_futures=True)
        if self._stream.problem is not None:  # the stream ended before a bad line
            raise self._stream.problem(self._line(self.rows))
        if self.rows == 0:
            raise InvalidArgument("the file has a header line but no rows")

    def _parse(self, block: memoryview) -> pa.RecordBatch | pa_csv.InvalidRow:
        """The rows of a block of whole lines, or its first row of the wrong field count."""
        invalid: list[pa_csv.InvalidRow] = []

        def refuse(row: pa_csv.InvalidRow) -> str:
            invalid.append(row)
            return "error"

        try:
            table = pa_csv.read_csv(
                pa.BufferReader(pa.py_buffer(block)),
                read_options=pa_csv.ReadOptions(
                    # One thread per block: pyarrow then numbers rows, which gives an error its
                    # line; and one pyarrow block per block of lines: one record batch.
                    use_threads=False,
                    block_size=len(block) + 1,
                    column_names=self._file_names,
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
                    column_types=dict.fromkeys(self._file_names, pa.string()),
                    # The stream checked UTF-8 already, much faster than a per-value check.
                    check_utf8=False,
                    strings_can_be_null=False,
                    quoted_strings_can_be_null=False,
                ),
            )
        except pa.ArrowInvalid as error:
            if invalid:
                return invalid[0]
            raise InvalidArgument(f"the file cannot be read: {error}") from None
        columns = table.combine_chunks().columns
        return pa.RecordBatch.from_arrays([c.chunk(0) for c in columns], schema=self._file_schema)

    def _with_extend_sid(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        assert self._extend_sid is not None
        # Lines are numbered across blocks: the rows of the blocks before give the first.
        index = pa.array(np.arange(self.rows, self.rows + batch.num_rows)).cast(pa.string())
        ids = pc.binary_join_element_wise(self._extend_sid, index, "")
        return pa.RecordBatch.from_arrays([ids, *batch.columns], schema=self.schema)

    def _line(self, row_index: int) -> int:
        """The line number of data row `row_index` (0-based)."""
        return row_index + 1 + self._head

    def _field_count_error(self, row: pa_csv.InvalidRow, first_line: int) -> InvalidArgument:
        # `number` counts the rows of the block pyarrow read, from 1; pyarrow knows it
        # single-threaded.
        line = first_line + row.number - 1 if row.number is not None else None
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


def _header_names(fields: list[str], *, id_first: bool = True) -> list[str]:
    # FATE keeps the id's name apart from the features' (its header is the features' names),
    # so the id's may repeat a feature's: FATE's svmlight tables, uploaded with `head: 1`,
    # have the header "1,1,0:-0.01,...".
    seen: set[str] = set()
    for position, name in enumerate(fields, start=1):
        if not name:
            raise InvalidArgument(f"the header's field {position} is empty", field=position)
        if position == 1 and id_first:
            continue
        if name in seen:
            raise InvalidArgument(f"the header names column {name!r} twice", column=name)
        if name == EXTEND_SID and not id_first:
            raise InvalidArgument(
                f"the header names column {name!r}, the name of the id column extend_sid adds",
                column=name,
            )
        seen.add(name)
    return fields


class _CheckedStream:
    """A file's bytes on their way to the parser, checked as they pass.

    Every byte must belong to UTF-8 text and every line must be at most `MAX_LINE_BYTES`
    long; the checks run once per chunk at C speed (`isascii`, `find`), so a file of plain
    ASCII costs almost nothing. A bad line is not passed on: the stream ends just before it,
    every row up to it is parsed, and the reader, which counts them, names the line with
    `problem`.
    """

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        # Checked bytes not yet read; views, so that taking part of one copies nothing.
        self._pieces: deque[memoryview] = deque()
        self._buffered = 0
        self._line_length = 0  # bytes checked since the last newline
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self._inside_character = False  # the last piece ended inside a UTF-8 sequence
        self._exhausted = False
        #: What is wrong with the line the stream stopped before, given its number.
        self.problem: Callable[[int], InvalidArgument] | None = None

    def read_lines(self, size: int) -> memoryview:
        """Whole lines, about `size` bytes of them; none at the end.

        A line is at most `MAX_LINE_BYTES` long (the check), so a `size` larger than that
        always holds a line's end, except in the file's last line, which may lack one.
        """
        data, length = self._read(size)
        return memoryview(data)[:length]

    def _read(self, size: int) -> tuple[bytes, int]:
        """Up to `size` bytes ending at a line's end (fewer at the file's end), as the first
        `length` bytes of `data`: (data, length)."""
        while self._buffered < size and self._fill():
            pass
        data = self._take(min(size, self._buffered))
        while True:
            end = data.rfind(b"\n")
            if end >= 0:
                self.unread(memoryview(data)[end + 1 :])
                return data, end + 1
            if len(data) >= size or not (self._buffered or self._fill()):
                # The file's end (its last line may lack a newline), or a read short of a
                # whole line (readline's); a line cut short by a problem is the bad one.
                return data, 0 if self.problem else len(data)
            data += self._take(min(size - len(data), self._buffered))

    def _take(self, size: int) -> bytes:
        """The first `size` buffered bytes, removed from the buffer."""
        taken: list[memoryview] = []
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

    def _drop_last(self, size: int) -> None:
        """Forget the last `size` buffered bytes (fewer if fewer are buffered)."""
        size = min(size, self._buffered)
        self._buffered -= size
        while size:
            piece = self._pieces.pop()
            if len(piece) > size:
                self._pieces.append(piece[: len(piece) - size])
                return
            size -= len(piece)

    def readline(self) -> bytes:
        """The first line, newline included (the line-length check bounds what it holds)."""
        data = b""
        while True:
            end = data.find(b"\n")
            if end >= 0:
                self.unread(data[end + 1 :])
                return data[: end + 1]
            more, length = self._read(64 << 10)
            if not length:
                return data
            data += more[:length]

    def unread(self, data: bytes | memoryview) -> None:
        if data:
            self._pieces.appendleft(memoryview(data))
            self._buffered += len(data)

    def _fill(self) -> bool:
        """Check the next chunk of the source into the buffer; False at its end (or at a bad
        line, whose beginning is then dropped from the buffer)."""
        if self._exhausted:
            return False
        chunk = next(self._chunks, None)
        if chunk is None:
            self._exhausted = True
            if self._inside_character:
                self._drop_last(self._line_length)
                self.problem = _ends_inside_a_character
            return False
        # Pieces no longer than a line may be: a line inside one piece is short enough.
        for start in range(0, len(chunk), MAX_LINE_BYTES):
            piece = chunk[start : start + MAX_LINE_BYTES] if len(chunk) > MAX_LINE_BYTES else chunk
            good = self._check(piece)
            if good is not None:
                # The lines before the bad one go on; the bad one's start, buffered, does not.
                if good:
                    piece = piece[:good]
                else:
                    self._drop_last(self._line_length)
                    piece = b""
                self._exhausted = True
            if piece:
                self._pieces.append(memoryview(piece))
                self._buffered += len(piece)
            if self._exhausted:
                break
        return True

    def _check(self, piece: bytes) -> int | None:
        """None if `piece` is good; else how many of its bytes precede the first bad line,
        which `problem` then describes."""
        first = piece.find(b"\n")
        if self._line_length + (first if first >= 0 else len(piece)) > MAX_LINE_BYTES:
            self.problem = _too_long
            return 0  # the line under way when the piece began
        if self._inside_character or not piece.isascii():
            carried = len(self._decoder.getstate()[0])
            try:
                self._decoder.decode(piece)
            except UnicodeDecodeError as error:
                bad = error.object[error.start]
                self.problem = lambda line: InvalidArgument(
                    f"line {line} is not UTF-8 text (byte 0x{bad:02x})", line=line
                )
                return piece.rfind(b"\n", 0, max(error.start - carried, 0)) + 1
            self._inside_character = bool(self._decoder.getstate()[0])
        if first >= 0:
            self._line_length = len(piece) - piece.rfind(b"\n") - 1
        else:
            self._line_length += len(piece)
        return None


def _too_long(line: int) -> InvalidArgument:
    return InvalidArgument(
        f"line {line} is longer than {MAX_LINE_BYTES} bytes, the longest line accepted",
        line=line,
    )


def _ends_inside_a_character(line: int) -> InvalidArgument:
    return InvalidArgument(f"line {line} ends inside a UTF-8 character", line=line)


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
