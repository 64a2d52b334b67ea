import json
from pathlib import Path

import pytest

from assistant import BadDocument
from assistant.ingest.loaders import load_document, read_document


def make_pdf(path: Path, text: str) -> Path:
    """A real PDF with a text layer, drawn by matplotlib."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(8, 3))
    fig.text(0.05, 0.5, text, fontsize=12)
    fig.savefig(path, format="pdf")
    plt.close(fig)
    return path


def test_txt_and_md_are_kept_as_written(tmp_path: Path) -> None:
    body = "Titre\n\nUne phrase. Une autre phrase.\n"
    (tmp_path / "a.txt").write_text("\ufeff" + body, encoding="utf-8")
    (tmp_path / "b.md").write_text("# Heading\n\n" + body, encoding="utf-8")
    assert load_document(tmp_path / "a.txt").text == body
    assert load_document(tmp_path / "b.md").text.startswith("# Heading")


def test_html_keeps_visible_text_only(tmp_path: Path) -> None:
    (tmp_path / "p.html").write_text(
        "<html><head><title>T</title><style>p{color:red}</style></head><body>"
        "<script>alert('x')</script><h1>Japan and Ukraine</h1><p>Aid was <b>large</b>.</p>"
        "<noscript>enable js</noscript></body></html>",
        encoding="utf-8",
    )
    text = load_document(tmp_path / "p.html").text
    assert "Japan and Ukraine" in text and "Aid was" in text and "large" in text
    for hidden in ("alert", "color:red", "enable js"):
        assert hidden not in text


def test_pdf_text_layer_is_read(tmp_path: Path) -> None:
    path = make_pdf(tmp_path / "d.pdf", "Japan pledged 12 billion dollars to Ukraine.")
    assert "Japan pledged 12 billion dollars" in load_document(path).text


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("empty.txt", b"", "empty"),
        ("blank.md", b"  \n\n ", "empty"),
        ("bin.txt", b"\x00\x01\x02binary\x00", "binary"),
        ("latin1.txt", "Café à Kiev".encode("latin-1"), "not valid UTF-8"),
        ("photo.jpg", b"\xff\xd8\xff\xe0", "unsupported type .jpg"),
        ("broken.pdf", b"%PDF-1.4 this is not a pdf", "not a readable PDF"),
        ("scripts.html", b"<script>only()</script>", "no readable text"),
    ],
)
def test_bad_files_name_the_file_and_the_problem(
    tmp_path: Path, name: str, data: bytes, reason: str
) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(BadDocument) as info:
        load_document(path)
    assert name in str(info.value) and reason in str(info.value)


# -- HTML article pages with the usual clutter (issue: clean article text and metadata) -------

CLUTTER = {
    "fr": (
        "Accueil International Économie",
        "Nous utilisons des cookies. Accepter tout",
        "À lire aussi : La Bourse de Tokyo recule",
        "Jean : Quelle honte, cet argent !",
        "© Le Quotidien Test 2024. Mentions légales",
    ),
    "ru": (
        "Главная Политика Экономика",
        "Мы используем файлы cookie. Принять",
        "Читайте также: Курс рубля вырос",
        "Иван: Позор, эти деньги нужны дома!",
        "© Вестник Тест 2024. Все права защищены",
    ),
    "zh": (
        "首页 国际 财经",
        "本网站使用Cookie。全部接受",
        "相关阅读：东京股市下跌",
        "网友小王：这笔钱应该留在日本！",
        "© 测试日报 2024 版权所有",
    ),
}
ARTICLE = {
    "fr": (
        "Le Japon annonce une aide",
        "Marie Dupont",
        "Le Quotidien Test",
        [
            "Le gouvernement japonais a annoncé mardi une nouvelle aide de 12 milliards de dollars à l'Ukraine, selon le ministère des Affaires étrangères.",
            "Cette décision marque un tournant dans la politique étrangère de Tokyo, longtemps prudente sur les conflits extérieurs.",
            "Le premier ministre a déclaré que le Japon resterait aux côtés de l'Ukraine aussi longtemps que nécessaire.",
        ],
    ),
    "ru": (
        "Япония объявила о помощи",
        "Иван Петров",
        "Вестник Тест",
        [
            "Правительство Японии во вторник объявило о новой помощи Киеву на сумму 7,6 миллиарда долларов, сообщает министерство иностранных дел.",
            "Москва расценивает это решение как враждебный шаг, который подрывает отношения между двумя странами.",
            "Представитель МИД России заявил, что Токио несёт ответственность за затягивание конфликта.",
        ],
    ),
    "zh": (
        "日本宣布对乌克兰的新援助",
        "李明",
        "测试日报",
        [
            "日本政府周二宣布向乌克兰提供120亿美元的新援助，这是外务省公布的消息。",
            "分析人士认为，这一决定标志着东京外交政策的转折，日本长期以来对海外冲突持谨慎态度。",
            "首相表示，只要有需要，日本将一直与乌克兰站在一起。",
        ],
    ),
}


def article_page(lang: str) -> str:
    """A saved news page: navigation, cookie banner, the article, related links, comments and a
    footer, with <meta>, Open Graph and JSON-LD metadata."""
    title, author, site, paragraphs = ARTICLE[lang]
    nav, cookies, related, comment, footer = CLUTTER[lang]
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    ld = json.dumps(
        {
            "@context": "https://schema.org",
            "@type": "NewsArticle",
            "headline": title,
            "author": {"@type": "Person", "name": author},
            "datePublished": "2024-03-05",
            "publisher": {"@type": "Organization", "name": site},
        },
        ensure_ascii=False,
    )
    return f"""<!doctype html><html lang="{lang}"><head><meta charset="utf-8">
<title>{title} | {site}</title><meta property="og:title" content="{title}">
<meta property="og:site_name" content="{site}"><meta name="author" content="{author}">
<meta property="article:published_time" content="2024-03-05T09:30:00+00:00">
<link rel="canonical" href="https://{lang}.news.example/2024/aide">
<script type="application/ld+json">{ld}</script></head><body>
<header><nav>{"".join(f'<a href="/{i}">{w}</a>' for i, w in enumerate(nav.split()))}</nav></header>
<div class="cookie-banner" id="cookie-consent"><p>{cookies}</p><button>OK</button></div>
<main><article><h1>{title}</h1><p class="byline">{author}</p>{body}</article>
<aside class="related"><h3>{related.split(":")[0].split("：")[0]}</h3><ul><li><a href="/x">{related}</a></li></ul></aside>
<section id="comments" class="comments"><h3>Comments</h3><div class="comment"><p>{comment}</p></div></section>
</main><footer><p>{footer}</p></footer></body></html>"""


@pytest.mark.parametrize("lang", ["fr", "ru", "zh"])
def test_an_article_page_gives_its_text_only_and_its_metadata(tmp_path: Path, lang: str) -> None:
    (tmp_path / "page.html").write_text(article_page(lang), encoding="utf-8")
    doc = load_document(tmp_path / "page.html")
    title, author, site, paragraphs = ARTICLE[lang]
    assert doc.method == "article" and not doc.note
    for p in paragraphs:
        assert p in doc.text
    # Each block its own paragraph: a headline with a single line break before the text was
    # joined to the first sentence ("… draining the Irtysh The Habahe Dam …" in a quote).
    # (The Chinese page, 120 characters of article, came back as one line, its blocks joined
    # by spaces: trafilatura's fallback below its 250-character article size.)
    first = next(p for p in doc.text.split("\n\n") if paragraphs[0][:5] in p)
    assert first.startswith(paragraphs[0][:5]), doc.text[:300]
    for clutter in CLUTTER[lang]:
        assert clutter not in doc.text, clutter
    assert doc.metadata == {
        "title": title,
        "author": author,
        "date": "2024-03-05",
        "outlet": site,
        "url": f"https://{lang}.news.example/2024/aide",
        "languages": lang,
    }


def test_a_page_without_an_article_falls_back_to_visible_text_and_says_so(tmp_path: Path) -> None:
    # trafilatura drops a page that is all footer: its text would be only boilerplate.
    (tmp_path / "menu.html").write_text(
        "<html><body><footer>Contact us</footer></body></html>", encoding="utf-8"
    )
    doc = load_document(tmp_path / "menu.html")
    assert doc.method == "visible text" and doc.text == "Contact us"
    assert "no article text found" in doc.note


def test_declared_fields_win_and_extracted_ones_are_recorded(fresh, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "fr.html").write_text(article_page("fr"), encoding="utf-8")
    (docs / "menu.html").write_text(
        "<html><body><footer>Contact us</footer></body></html>", encoding="utf-8"
    )
    (docs / "sources.toml").write_text(
        '[corpus.sides]\n"pro-Ukraine" = "x"\n\n[[sources]]\nfile = "fr.html"\nid = "fr"\n'
        'outlet = "Declared Outlet"\nside = "pro-Ukraine"\nvoice = "independent-media"\n',
        encoding="utf-8",
    )
    report = fresh.ingest([docs])
    assert sorted(report.added) == ["fr", "menu"]
    assert [(Path(f).name, "no article text found" in n) for f, n in report.notes] == [
        ("menu.html", True)
    ]
    record, text = fresh.source("fr")
    s = record.source
    assert (s.outlet, s.side) == ("Declared Outlet", "pro-Ukraine")  # the manifest wins
    assert (s.title, s.author, s.date) == (
        "Le Japon annonce une aide",
        "Marie Dupont",
        "2024-03-05",
    )
    assert s.extracted == ("author", "date", "languages", "title", "url")
    assert "Accepter tout" not in text and ARTICLE["fr"][3][0] in text
    answer = fresh.ask("Quelle aide le Japon a-t-il annoncée ?")
    assert any(c.source_id == "fr" and c.author == "Marie Dupont" for c in answer.citations)


def pdf_of(objects: list[bytes]) -> bytes:
    """A PDF of the given objects (1 is the catalog), with a correct cross-reference table."""
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for i, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref, n = len(out), len(objects) + 1
    out += b"xref\n0 %d\n0000000000 65535 f \n" % n
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (n, xref)
    return bytes(out)


def stream(content: bytes, extra: bytes = b"") -> bytes:
    return b"<< /Length %d %s >>\nstream\n" % (len(content), extra) + content + b"\nendstream"


@pytest.mark.parametrize("in_form", [False, True], ids=["on the page", "inside a form"])
def test_a_pdf_over_the_text_cap_is_refused_wherever_its_text_sits(in_form: bool) -> None:
    """The cap stops pypdf's extraction at the first piece of text past it; inside a form
    XObject pypdf swallows that stop (and drops the form's text), so the total is checked
    again after the pages: either way the PDF is refused, not indexed short."""
    text = b"(Japan sent aid to Ukraine.) Tj T* " * 200  # 5,400 characters
    font = b"/Resources << /Font << /F1 4 0 R >> >>"
    page = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 5 0 R %s >>"
    body = b"BT /F1 12 Tf 72 720 Td 14 TL " + text + b"ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        page % (b"/Resources << /XObject << /Fm1 6 0 R >> >>" if in_form else font),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        stream(b"BT /F1 12 Tf 72 760 Td (Header.) Tj ET /Fm1 Do" if in_form else body),
        stream(body, b"/Type /XObject /Subtype /Form /BBox [0 0 612 792] " + font),
    ]
    data = pdf_of(objects)
    assert "Japan sent aid" in read_document(data, "cap.pdf").text
    with pytest.raises(BadDocument, match="over 1,000 characters.*ASSISTANT_MAX_TEXT_CHARS"):
        read_document(data, "cap.pdf", max_chars=1000)
