"""FATE's delimited text <-> Arrow: values kept as text, every bad file refused naming its line."""

from __future__ import annotations

import io

import pyarrow as pa
import pytest

from fateflow_grpc.errors import InvalidArgument
from fateflow_grpc.storage import delimited
from fateflow_grpc.storage.delimited import (
    MAX_LINE_BYTES,
    DelimitedReader,
    key_values,
    write_delimited,
)

TEXT = b'id,y,x0,x1\n133,1,0.254,-1.0e-3\n7,0,"quoted,\xc3\xa9t\xc3\xa9\n0008,1,   ,NA\n'
# The quote is a value's first byte, the comma after it splits: FATE has no quoting.


def read(data: bytes, *, head: bool = True, delimiter: str = ",", chunk: int = 0) -> pa.Table:
    chunks = [data[i : i + chunk] for i in range(0, len(data), chunk)] if chunk else [data]
    reader = DelimitedReader(chunks, delimiter=delimiter, head=head)
    return pa.Table.from_batches(list(reader), schema=reader.schema)


def test_extend_sid_numbers_lines_across_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(delimited, "_BLOCK_BYTES", 64)
    data = b"id,y\n" + b"".join(b"%d,1\n" % i for i in range(100))
    reader = DelimitedReader([data], delimiter=",", head=True, extend_sid="u")
    batches = list(reader)
    assert len(batches) > 1
    table = pa.Table.from_batches(batches, schema=reader.schema)
    assert table.schema.names == ["extend_sid", "id", "y"]
    assert table.column("extend_sid").to_pylist() == [f"u{i}" for i in range(100)]
    assert table.column("id").to_pylist() == [str(i) for i in range(100)]


def test_extend_sid_without_a_header_and_auto_increasing() -> None:
    reader = DelimitedReader([b",a\n2,b\n"], delimiter=",", head=False, extend_sid="")
    table = pa.Table.from_batches(list(reader), schema=reader.schema)
    # The first field is a value like the others: it may be empty.
    assert table.to_pydict() == {"extend_sid": ["0", "1"], "x0": ["", "2"], "x1": ["a", "b"]}


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (b"y,y", "the header names column 'y' twice"),
        (b"extend_sid,y", "the name of the id column extend_sid adds"),
    ],
)
def test_extend_sid_header_names_every_column_once(header: bytes, message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        DelimitedReader([header + b"\n1,2\n"], delimiter=",", head=True, extend_sid="")


def written(table: pa.Table, *, delimiter: str = ",", header: bool = True) -> bytes:
    out = io.BytesIO()
    names = table.schema.names if header else None
    write_delimited(table.to_batches(), out, delimiter=delimiter, header=names)
    return out.getvalue()


def refusal(data: bytes, **options: object) -> str:
    with pytest.raises(InvalidArgument) as caught:
        read(data, **options)  # type: ignore[arg-type]
    return caught.value.message


def test_values_stay_text_byte_for_byte() -> None:
    table = read(TEXT)
    assert table.schema.names == ["id", "y", "x0", "x1"]
    assert all(field.type == pa.string() for field in table.schema)
    assert table.column("id").to_pylist() == ["133", "7", "0008"]
    assert table.column("x0").to_pylist() == ["0.254", '"quoted', "   "]
    assert table.column("x1").to_pylist() == ["-1.0e-3", "été", "NA"]
    assert written(table) == TEXT


@pytest.mark.parametrize("chunk", [1, 3, 7, 64])
def test_chunk_boundaries_do_not_matter(chunk: int) -> None:
    # Chunks split lines and a two-byte UTF-8 character alike.
    assert read(TEXT, chunk=chunk).equals(read(TEXT))


def test_without_a_header_the_first_line_is_a_row() -> None:
    table = read(b"1,a,b\n2,c,d\n", head=False)
    assert table.schema.names == ["id", "x0", "x1"]
    assert table.num_rows == 2
    assert written(table, header=False) == b"1,a,b\n2,c,d\n"


def test_another_delimiter_and_crlf_line_ends() -> None:
    table = read(b"id\ty\r\na,b\tc\r\n", delimiter="\t")
    assert table.to_pydict() == {"id": ["a,b"], "y": ["c"]}
    assert written(table, delimiter="\t") == b"id\ty\na,b\tc\n"


def test_last_line_without_newline_and_byte_order_mark() -> None:
    table = read(b"\xef\xbb\xbfid,y\n1,2")
    assert table.to_pydict() == {"id": ["1"], "y": ["2"]}


def test_a_long_line_within_the_limit() -> None:
    value = b"9" * (MAX_LINE_BYTES - 10)
    data = b"id,v\n" + b"1,2\n" * 1000 + b"2," + value + b"\n3,4\n"
    table = read(data, chunk=100_000)
    assert table.num_rows == 1002
    assert table.column("v")[1000].as_py() == value.decode()


def test_many_rows_come_in_few_large_batches() -> None:
    data = b"id,v\n" + b"".join(b"%d,%d\n" % (i, i * 7) for i in range(300_000))
    reader = DelimitedReader([data], delimiter=",", head=True)
    batches = list(reader)
    assert sum(b.num_rows for b in batches) == reader.rows == 300_000
    assert len(batches) < 10
    assert batches[-1].column("v")[-1].as_py() == str(299_999 * 7)


def test_key_values_are_fates_view_of_rows() -> None:
    assert key_values(read(TEXT).slice(0, 2), ",") == [
        ["133", "1,0.254,-1.0e-3"],
        ["7", '0,"quoted,été'],
    ]
    assert key_values(read(b"id\n1\n"), ",") == [["1", ""]]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "the file is empty"),
        (b"id,y,x0\n", "the file has a header line but no rows"),
        (b"id,y,x0\r\n", "the file has a header line but no rows"),
        (b"id,y,x0\n1,0,5\n2,1\n", "line 3 has 2 fields where the header has 3"),
        (b"id,y,x0\n1,0,5\n2,1,3,4\n", "line 3 has 4 fields where the header has 3"),
        (b"id,y,x0\n1,0,5\n\n3,1,1\n", "line 3 has an empty id"),
        (b"id,y,x0\n1,0,5\n,1,1\n", "line 3 has an empty id"),
        (b"id,y,x0\n1,0,5\n2,1,\xff\n", "line 3 is not UTF-8 text (byte 0xff)"),
        (b"id,y,x0\n1,0,5\n2,1,\xc3", "line 3 ends inside a UTF-8 character"),
        (b"id,y,y\n1,0,5\n", "the header names column 'y' twice"),
        (b"id,,x0\n1,0,5\n", "the header's field 2 is empty"),
        (b"id,\xffy\n1,0\n", "line 1 is not UTF-8 text (byte 0xff)"),
        (b"id,y" + b"x" * MAX_LINE_BYTES + b"\n1,0\n", "line 1 is longer than"),
        (b"id,y\n1,0\n2," + b"x" * MAX_LINE_BYTES, "line 3 is longer than"),
    ],
)
def test_bad_files_are_refused_naming_the_line(data: bytes, message: str) -> None:
    assert message in refusal(data)
    assert message in refusal(data, chunk=2)


def test_without_a_header_the_first_line_sets_the_field_count() -> None:
    assert "line 2 has 1 field where line 1 has 2" in refusal(b"1,a\n2\n", head=False)


def test_non_utf8_far_into_the_file_names_its_line() -> None:
    data = b"id,v\n" + b"1,2\n" * 200_000 + b"3,\x80\n"
    assert "line 200002 is not UTF-8 text (byte 0x80)" in refusal(data, chunk=1 << 20)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (b"3,4,5\n", "line 250002 has 3 fields where the header has 2"),
        (b",4\n", "line 250002 has an empty id"),
        (b"\n", "line 250002 has an empty id"),
    ],
)
def test_errors_in_a_later_block_name_their_line(bad: bytes, message: str) -> None:
    # 12 MB of rows: blocks of lines are parsed on several threads, and each error still
    # names its line in the whole file.
    row = b"1," + b"8" * 45 + b"\n"
    data = b"id,v\n" + row * 250_000 + bad + row * 10_000
    assert message in refusal(data, chunk=1 << 20)


def test_a_line_of_10_mb_is_refused() -> None:
    data = b"id,v\n1,2\n2," + b"7" * (10 << 20) + b"\n3,4\n"
    message = refusal(data, chunk=1 << 20)
    assert f"line 3 is longer than {MAX_LINE_BYTES} bytes" in message


def test_the_delimiter_is_one_ascii_character() -> None:
    for delimiter in ("", "::", "\n", "\N{FULLWIDTH COMMA}"):
        assert "delimiter must be one ASCII character" in refusal(TEXT, delimiter=delimiter)
