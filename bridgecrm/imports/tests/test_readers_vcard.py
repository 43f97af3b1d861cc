"""vCard 2.1, 3.0 and 4.0 files as written by phones and mail programs, read into contact rows."""

from __future__ import annotations

import quopri
from pathlib import Path

import pytest

from bridgecrm.core.errors import ApplicationError
from bridgecrm.imports import readers, vcard
from bridgecrm.imports.readers import open_table


def rows_of(path: Path, filename: str = "contacts.vcf"):
    with open_table(path, filename=filename) as table:
        assert table.headers == vcard.HEADERS
        assert table.format == "vcard"
        return [dict(zip(table.headers, row, strict=True)) for row in table.rows]


def qp(text: str, charset: str) -> bytes:
    return quopri.encodestring(text.encode(charset)).replace(b"=\n", b"=\r\n")


def test_vcard_21_quoted_printable_utf8_with_soft_line_breaks(tmp_path):
    # As Android exports: QP with CHARSET, soft breaks without leading space, bare TYPE parameters.
    name = qp("张伟", "utf-8")
    org = quopri.encodestring("上海星辰科技有限公司;销售部".encode()).decode()
    # force a soft line break in the middle of the encoded ORG value
    org_folded = org[:20] + "=\r\n" + org[20:]
    body = (
        b"BEGIN:VCARD\r\nVERSION:2.1\r\n"
        b"N;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:" + qp("张", "utf-8") + b";" + qp("伟", "utf-8") + b";;;\r\n"
        b"FN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:" + name + b"\r\n"
        b"ORG;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:" + org_folded.encode() + b"\r\n"
        b"TITLE;CHARSET=UTF-8;QUOTED-PRINTABLE:" + qp("销售总监", "utf-8") + b"\r\n"
        b"TEL;CELL;PREF:138-0013-8000\r\n"
        b"TEL;WORK;VOICE:021-6888 8888\r\n"
        b"EMAIL;INTERNET:zhangwei@xingchen.cn\r\n"
        b"PHOTO;ENCODING=BASE64;JPEG:/9j/4AAQSkZJRgABAQAAAQABAAD\r\n"
        b" /2wBDAAgGBgcGBQgHBwcJCQgKDBQNDAsLDBkSEw8UHRofHh0aHBwgJC4nICIsIxwcKDcpLDAxNDQ0Hyc5PTgyPC4zNDL\r\n"
        b"\r\n"
        b"END:VCARD\r\n"
    )
    path = tmp_path / "android.vcf"
    path.write_bytes(body)
    [row] = rows_of(path)
    assert row["Name"] == "张伟"
    assert row["Organization"] == "上海星辰科技有限公司"
    assert row["Department"] == "销售部"
    assert row["Title"] == "销售总监"
    assert row["Mobile"] == "138-0013-8000"
    assert row["Phone"] == "021-6888 8888"
    assert row["Email"] == "zhangwei@xingchen.cn"


def test_vcard_21_gbk_charset_quoted_printable_and_raw(tmp_path):
    body = (
        b"BEGIN:VCARD\r\nVERSION:2.1\r\n"
        b"FN;CHARSET=GBK;ENCODING=QUOTED-PRINTABLE:" + qp("李娜", "gbk") + b"\r\n"
        b"ORG;CHARSET=GB2312:" + "北京云海贸易有限公司".encode("gbk") + b"\r\n"
        b"TEL;HOME:010-12345678\r\n"
        b"END:VCARD\r\n"
    )
    path = tmp_path / "old-phone.vcf"
    path.write_bytes(body)
    [row] = rows_of(path)
    assert row["Name"] == "李娜"
    assert row["Organization"] == "北京云海贸易有限公司"
    assert row["Phone"] == "010-12345678"


def test_vcard_21_whole_file_in_gbk_without_charset(tmp_path):
    text = "BEGIN:VCARD\r\nVERSION:2.1\r\nN:王;芳\r\nORG:深圳华南电子有限公司\r\nTEL;CELL:13912345678\r\nEND:VCARD\r\n"
    path = tmp_path / "gbk.vcf"
    path.write_bytes(text.encode("gbk") * 3)
    rows = rows_of(path)
    assert [r["Name"] for r in rows] == ["王芳"] * 3  # from N, family name first for Chinese names
    assert rows[0]["Organization"] == "深圳华南电子有限公司"


def test_vcard_30_folding_escapes_and_types(tmp_path):
    body = (
        "BEGIN:VCARD\r\n"
        "VERSION:3.0\r\n"
        "N:Smith;John;Q.;Dr.;Jr.\r\n"
        "FN:John Smith\r\n"
        "ORG:Acme\\, Inc.;Sales\\; East\r\n"
        "TITLE:Head of\r\n  Partnerships\r\n"
        "item1.EMAIL;type=INTERNET;type=pref:john@acme.example\r\n"
        "EMAIL;TYPE=INTERNET,WORK:j.smith@acme.example\r\n"
        "TEL;TYPE=WORK,VOICE:+1 555 0100\r\n"
        "TEL;TYPE=CELL:+1 555 0199\r\n"
        "NOTE:Met at the fair\\nCall in May\r\n"
        "PHOTO;ENCODING=b;TYPE=JPEG:MIICajCCAdOgAwIBAgICBEUwDQYJKoZIhvcNAQEEBQAwdzELMAkGA1UEBhMCVVMx\r\n"
        " LDAqBgNVBAoTI05ldHNjYXBlIENvbW11bmljYXRpb25zIENvcnBvcmF0aW9uMRww\r\n"
        "UID:urn:uuid:4fbe8971-0bc3-424c-9c26-36c3e1eff6b1\r\n"
        "END:VCARD\r\n"
    )
    path = tmp_path / "apple.vcf"
    path.write_text(body, encoding="utf-8")
    [row] = rows_of(path)
    assert row["Name"] == "John Smith"
    assert row["Organization"] == "Acme, Inc."
    assert row["Department"] == "Sales; East"
    assert row["Title"] == "Head of Partnerships"
    assert row["Email"] == "john@acme.example"
    assert row["Mobile"] == "+1 555 0199"
    assert row["Phone"] == "+1 555 0100"
    assert row["Note"] == "Met at the fair\nCall in May"
    assert row["UID"] == "urn:uuid:4fbe8971-0bc3-424c-9c26-36c3e1eff6b1"


def test_vcard_40_quoted_params_pref_and_uris(tmp_path):
    body = (
        "BEGIN:VCARD\n"
        "VERSION:4.0\n"
        "FN:陈静\n"
        "N:陈;静;;;\n"
        "ORG:杭州西湖软件股份有限公司\n"
        "TITLE:采购经理\n"
        'TEL;VALUE=uri;TYPE="voice,cell";PREF=1:tel:+86-137-0000-1111\n'
        'TEL;VALUE=uri;TYPE="work,voice":tel:+86-571-8888-0000;ext=12\n'
        "EMAIL;TYPE=work:chen@xihu.example\n"
        "EMAIL;PREF=1:jing@xihu.example\n"
        "END:VCARD\n"
        "BEGIN:VCARD\nVERSION:4.0\nFN:Second Person\nEND:VCARD\n"
    )
    path = tmp_path / "v4.vcf"
    path.write_text(body, encoding="utf-8")
    first, second = rows_of(path)
    assert first["Name"] == "陈静"
    assert first["Organization"] == "杭州西湖软件股份有限公司"
    assert first["Mobile"] == "+86-137-0000-1111"
    assert first["Phone"] == "+86-571-8888-0000"
    assert first["Email"] == "jing@xihu.example"
    assert second["Name"] == "Second Person"


def test_nested_agent_cards_are_skipped(tmp_path):
    body = (
        "BEGIN:VCARD\r\nVERSION:2.1\r\nFN:Boss\r\n"
        "AGENT:\r\nBEGIN:VCARD\r\nVERSION:2.1\r\nFN:Assistant\r\nEND:VCARD\r\n"
        "TEL:123\r\nEND:VCARD\r\n"
    )
    path = tmp_path / "agent.vcf"
    path.write_text(body, encoding="utf-8")
    [row] = rows_of(path)
    assert row["Name"] == "Boss"
    assert row["Phone"] == "123"


def test_vcard_detected_by_content_and_not_vcard_refused(tmp_path):
    path = tmp_path / "cards.txt"
    path.write_text("BEGIN:VCARD\nVERSION:3.0\nFN:A\nEND:VCARD\n", encoding="utf-8")
    with open_table(path, filename="cards.txt") as table:
        assert table.format == "vcard"
        assert next(iter(table.rows))[0] == "A"
    bad = tmp_path / "bad.vcf"
    bad.write_text("Name,Phone\nA,1\n", encoding="utf-8")
    with pytest.raises(ApplicationError) as raised:
        open_table(bad, filename="bad.vcf")
    assert raised.value.code == "import_bad_vcard"


def test_vcard_row_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(readers, "MAX_ROWS", 2)
    path = tmp_path / "many.vcf"
    path.write_text("".join(f"BEGIN:VCARD\nVERSION:3.0\nFN:P{i}\nEND:VCARD\n" for i in range(3)), encoding="utf-8")
    with open_table(path, filename="many.vcf") as table, pytest.raises(ApplicationError) as raised:
        list(table.rows)
    assert raised.value.code == "import_too_many_rows"
