"""Regenerate the bundled sample (`python -m corpus.sample.generate`). Text written by the corpus team.

Documents are composed from the hand-written paragraphs below, deterministically, in every supported input format,
with planted problems so that every stage of the funnel drops something: exact duplicates across sources,
navigation boilerplate, keyword spam, repeated blocks, hashtag and teaser pages, a blocklisted domain, invalid
UTF-8, a malformed JSON line, a truncated WET record, an empty file, a language that is not allowed.
"""

from __future__ import annotations

import gzip
import json
from itertools import islice
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

HERE = Path(__file__).parent

EN = [
    "The river that runs through the old town was once the only road to the coast. Merchants loaded barrels of "
    "salt and wool onto flat boats, and the boats drifted for three days before they reached the harbour. Today "
    "the water is quiet, and most of the warehouses along the bank have been turned into flats, cafes and a small "
    "museum that tells the story of the trade.",
    "Learning to bake bread at home takes patience more than skill. The dough needs time to rise, and the kitchen "
    "should be warm but not hot. Many beginners add too much flour because the dough feels sticky, yet a wet dough "
    "often gives a lighter loaf with a better crust. Keep notes on each attempt and change only one thing at a time.",
    "Astronomers have found a planet that circles its star every nine days. It is slightly larger than the Earth "
    "and probably made of rock, but it is far too hot to hold liquid water. The discovery was made by watching the "
    "star grow dimmer by a tiny amount each time the planet passed in front of it.",
    "Our village library opened a reading room for children last spring. Volunteers read stories aloud every "
    "Saturday morning, and the older children help the younger ones choose books. The room was painted by local "
    "students, who covered one wall with a map of imaginary islands that the children have named themselves.",
    "A good walking boot should fit well before you buy it, not after a month of pain. Try boots on in the "
    "afternoon, when your feet are slightly larger, and wear the socks you plan to walk in. There should be room "
    "to move your toes, and your heel should not lift when you climb a steep slope.",
    "The committee met on Tuesday to discuss the new bus timetable. Several members argued that the early service "
    "should start at six rather than seven, so that workers at the hospital can reach their shifts on time. A "
    "final decision will be taken next month, after the company has counted how many people use each route.",
    "Bees visit thousands of flowers to make a single spoon of honey. They communicate the direction and distance "
    "of good flowers through a dance inside the hive, and the other workers follow these instructions with "
    "surprising accuracy. Farmers who grow fruit often rent hives during the spring, because the trees give far "
    "more fruit when bees are present.",
    "When the old mill closed, the town lost nearly half of its jobs. For years the building stood empty, and "
    "its windows were broken one by one. Then a group of young engineers bought it for a small sum and began to "
    "repair the water wheel, which now produces enough electricity to light the whole street.",
    "Chess players often say that the opening is about time, the middle game about plans, and the ending about "
    "technique. A beginner should learn a few simple principles rather than long lines of moves: control the "
    "centre, develop the pieces quickly, and keep the king safe. The rest comes with practice and with careful "
    "study of the games that were lost.",
    "The storm reached the coast shortly after midnight. Trees fell across several roads, and thousands of homes "
    "lost power for most of the next day. Emergency teams worked through the night, and by the evening the main "
    "routes were open again, although many smaller lanes were still blocked by branches and mud.",
    "Writing clear instructions is harder than it looks. The writer already knows what to do, so it is easy to "
    "skip a step that seems obvious. A useful test is to give the instructions to someone who has never done the "
    "task and to watch, without helping, where they stop and ask a question.",
    "The museum has received a collection of letters written by a sailor to his sister more than a century ago. "
    "He describes storms, ports and the food on board with humour and great detail, and he always ends by asking "
    "about the garden at home. The letters will be shown to the public for the first time this winter.",
]

RU = [
    "Старый парк на окраине города давно стал любимым местом для прогулок. Летом здесь гуляют семьи с детьми, а "
    "по вечерам на скамейках у пруда собираются пенсионеры и обсуждают новости. Недавно городские власти решили "
    "отремонтировать дорожки и поставить новые фонари, но жители попросили сохранить старые липы у входа.",
    "Чтобы научиться хорошо писать, нужно много читать и не бояться ошибок. Каждый текст стоит перечитать на "
    "следующий день, когда взгляд уже свежий. Тогда легко заметить лишние слова, длинные предложения и места, где "
    "мысль теряется. Опытные редакторы советуют читать свои тексты вслух.",
    "Зимой в деревне жизнь идёт медленно. Снег засыпает дороги, и автобус приходит только два раза в неделю. "
    "Зато по вечерам соседи собираются у печки, пьют чай с вареньем и вспоминают старые истории. Дети катаются с "
    "горки за школой до самой темноты, а потом долго сушат варежки у огня.",
    "Учёные обнаружили в северном озере новый вид мелких рачков. Они живут на большой глубине, где вода почти не "
    "прогревается даже летом. По словам исследователей, эти животные могут многое рассказать о том, как менялся "
    "климат региона за последние тысячи лет, потому что их панцири хорошо сохраняются в донных отложениях.",
    "Библиотека на соседней улице открыла клуб любителей шахмат. Занятия проходят по субботам, и прийти может "
    "любой желающий, от школьника до пенсионера. Опытные игроки разбирают с новичками простые партии и объясняют, "
    "почему в начале игры так важно быстро выводить фигуры и следить за центром доски.",
    "Поезд шёл на восток третьи сутки. За окном тянулись леса, потом степь, потом снова леса. Пассажиры знакомились, "
    "делились едой и рассказывали друг другу о своих городах. Проводница приносила горячий чай в стаканах с "
    "подстаканниками, и казалось, что время в дороге течёт совсем иначе, чем дома.",
    "Хороший хлеб требует времени. Тесто должно подниматься в тёплом месте несколько часов, и торопить его не "
    "стоит. Многие начинающие пекари добавляют слишком много муки, потому что тесто кажется липким, но именно "
    "влажное тесто даёт лёгкий мякиш и хрустящую корочку. Записывайте каждую попытку.",
    "На заседании городского совета обсуждали новое расписание автобусов. Несколько депутатов предложили начинать "
    "движение на час раньше, чтобы врачи и медсёстры успевали к началу смены. Окончательное решение примут в "
    "следующем месяце, когда перевозчик посчитает, сколько людей ездит по каждому маршруту.",
    "Пчёлы облетают тысячи цветков, чтобы собрать одну ложку мёда. О хороших местах они сообщают друг другу с "
    "помощью особого танца, и остальные рабочие пчёлы находят цветы с удивительной точностью. Садоводы весной "
    "часто берут ульи в аренду, потому что при пчёлах деревья дают гораздо больше плодов.",
    "Старая мельница стояла пустой много лет, пока её не купила группа молодых инженеров. Они починили водяное "
    "колесо и поставили небольшой генератор, и теперь мельница освещает всю улицу. По выходным здесь проводят "
    "экскурсии для школьников, которым рассказывают, как работала мельница сто лет назад.",
]

DE = [
    "Der kleine Bahnhof am Rande des Dorfes wurde im letzten Jahr renoviert. Die alten Holzbänke sind geblieben, "
    "aber es gibt jetzt einen beheizten Warteraum und eine Anzeige, die die Verspätungen der Züge meldet. Viele "
    "Pendler sind froh darüber, denn im Winter war das Warten auf dem offenen Bahnsteig oft sehr unangenehm.",
    "Wer im Garten Gemüse anbauen möchte, sollte mit wenigen Sorten beginnen. Tomaten, Bohnen und Salat wachsen "
    "fast überall und verzeihen kleine Fehler. Wichtig ist ein sonniger Platz und ein Boden, der das Wasser nicht "
    "zu lange hält. Im zweiten Jahr kann man dann mutiger werden und neue Pflanzen ausprobieren.",
]
FR = [
    "Le marché du samedi matin attire des habitants de toute la vallée. On y trouve des fromages, du pain encore "
    "chaud, des légumes de saison et des fleurs coupées le jour même. Les producteurs connaissent leurs clients "
    "par leur prénom, et les conversations durent souvent plus longtemps que les achats eux-mêmes.",
    "Apprendre une langue étrangère demande de la régularité plus que du talent. Quelques minutes chaque jour "
    "valent mieux qu'une longue séance par semaine. Il est utile de lire des textes simples, d'écouter la radio "
    "et de ne pas avoir peur de parler, même avec des erreurs, car c'est ainsi que l'on progresse vraiment.",
]
ES = [
    "El pequeño puerto del pueblo vive de la pesca desde hace siglos. Cada mañana, antes del amanecer, las barcas "
    "salen al mar y vuelven a media tarde con sardinas, pulpo y a veces algún atún. En la lonja, los compradores "
    "esperan en silencio mientras el subastador anuncia los precios a toda velocidad.",
    "Aprender a tocar la guitarra exige paciencia y constancia. Al principio los dedos duelen y los acordes suenan "
    "mal, pero después de unas semanas de práctica diaria las manos se acostumbran. Lo más importante es tocar "
    "canciones que a uno le gustan, porque así el estudio se convierte en un placer y no en una obligación.",
]
UK = [
    "Старе місто над річкою щоліта приймає тисячі туристів. Вони гуляють вузькими вуличками, фотографують "
    "дерев'яні церкви й куштують місцеві страви в маленьких кав'ярнях. Мешканці радіють гостям, але просять "
    "зберегти тишу після десятої вечора, бо багато хто з них рано встає на роботу.",
    "Щоб виростити добрий урожай помідорів, потрібно багато сонця й регулярний полив. Досвідчені городники "
    "радять підв'язувати кущі та прибирати зайві пагони, тоді плоди будуть більшими й солодшими. Восени частину "
    "помідорів можна засолити на зиму за бабусиним рецептом.",
]

NAV_BOILERPLATE = "\n".join([
    "Home", "About us", "Products", "Contact", "Login", "Register", "Search", "Privacy policy", "Terms of use",
    "Cookie settings", "Sitemap", "© 2024 Example Shop. All rights reserved.",
])
KEYWORD_SPAM = " ".join(["buy cheap watches online best price cheap watches free shipping"] * 12)
HASHTAG_SPAM = " ".join(f"#travel #sun #beach #love #photo day {i} at the sea with friends" for i in range(8))
TEASERS = "\n".join(f"You will never believe what happened to the {x} when the lights went out..." for x in
                    ["actor", "singer", "driver", "teacher", "doctor", "farmer", "pilot", "baker", "writer"])
NUMBER_TABLE = "\n".join(" ".join(str((i * 37 + j * 11) % 1000) for j in range(12)) + " units" for i in range(10))
BULLET_LIST = "\n".join(f"• item {i}: red blue green size {i} in stock now" for i in range(12))


def _compose(pool: list[str], count: int, per_doc: int, start: int = 0) -> list[str]:
    """`count` documents of `per_doc` paragraphs each, cycling through the pool with a stride."""
    docs = []
    for i in range(start, start + count):
        picks = [pool[(i + k * (i % 3 + 1)) % len(pool)] for k in range(per_doc)]
        docs.append("\n\n".join(dict.fromkeys(picks)))
    return docs


def _wet_record(url: str, text: bytes, date: str = "2024-05-18T01:58:10Z") -> bytes:
    head = (f"WARC/1.0\r\nWARC-Type: conversion\r\nWARC-Target-URI: {url}\r\nWARC-Date: {date}\r\n"
            f"Content-Type: text/plain\r\nContent-Length: {len(text)}\r\n\r\n").encode()
    return head + text + b"\r\n\r\n"


def _web_pages() -> list[tuple[str, str]]:
    docs = (_compose(EN, 8, 3) + _compose(RU, 6, 3) + [DE[0] + "\n\n" + DE[1], FR[0] + "\n\n" + FR[1],
                                                          ES[0] + "\n\n" + ES[1], UK[0] + "\n\n" + UK[1]])
    planted = [
        NAV_BOILERPLATE,                                     # quality: too few words
        EN[0] + "\n\n" + KEYWORD_SPAM,                       # repetition: n-gram spam
        HASHTAG_SPAM,                                        # quality: hashes per word
        TEASERS,                                             # quality: ellipsis lines
        NUMBER_TABLE,                                        # quality: alphabetic words
        BULLET_LIST,                                         # quality: bullet lines
        (EN[3] + "\n\n") * 3 + EN[4],                        # repetition: duplicated paragraphs
        "\n\n".join([RU[0], RU[1], RU[0], RU[1]]),           # repetition in Russian
    ]
    all_docs = docs + planted
    return [(f"https://www.site{i:02d}.example.org/page/{i}", text) for i, text in enumerate(all_docs)]


def write_sample(root: Path = HERE) -> None:
    (root / "web").mkdir(parents=True, exist_ok=True)
    (root / "c4").mkdir(exist_ok=True)
    (root / "news").mkdir(exist_ok=True)
    (root / "books").mkdir(exist_ok=True)
    (root / "articles").mkdir(exist_ok=True)

    # WET: pages, one blocklisted domain, one invalid-UTF-8 page, one truncated record at the end of file 2.
    pages = _web_pages()
    half = len(pages) // 2
    records1 = [_wet_record(u, t.encode()) for u, t in pages[:half]]
    records1.append(_wet_record("https://ads.spam-network.example.com/offer", EN[5].encode()))
    records1.append(_wet_record("https://broken.example.net/", b"\xff\xfe\xfa" * 200 + EN[6].encode()[:100]))
    (root / "web" / "crawl-00000.warc.wet.gz").write_bytes(gzip.compress(b"".join(records1), mtime=0))
    records2 = [_wet_record(u, t.encode()) for u, t in pages[half:]]
    cut = _wet_record("https://cut.example.org/", EN[7].encode())
    records2.append(cut[: len(cut) // 2])
    (root / "web" / "crawl-00001.warc.wet.gz").write_bytes(gzip.compress(b"".join(records2), mtime=0))

    # JSONL (C4-like): composed documents, two exact copies of web pages, one malformed line, one empty text.
    c4_docs = _compose(EN, 14, 2, start=3) + _compose(RU, 6, 2, start=2) + [pages[0][1], pages[9][1]]
    lines = [json.dumps({"text": t, "url": f"https://c4.example.com/{i}"}, ensure_ascii=False)
             for i, t in enumerate(c4_docs)]
    lines.insert(5, '{"text": "this line was cut off in the middle')
    lines.append(json.dumps({"text": "   ", "url": "https://c4.example.com/empty"}))
    (root / "c4" / "c4-sample.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")

    # Parquet (news): article-length documents in several languages, one duplicate of a C4 document.
    news = (_compose(EN, 8, 4, start=1) + _compose(RU, 5, 4, start=1) + [DE[1] + "\n\n" + DE[0],
            FR[1] + "\n\n" + FR[0], ES[1] + "\n\n" + ES[0], UK[1] + "\n\n" + UK[0], c4_docs[2]])
    table = pa.table({"id": [f"news-{i:03d}" for i in range(len(news))], "text": news,
                      "title": [f"Story {i}" for i in range(len(news))],
                      "url": [f"https://news.example.com/story/{i}" for i in range(len(news))]})
    pq.write_table(table, root / "news" / "news-sample.parquet", compression="zstd")

    # Books: a Gutenberg-style English book (hard-wrapped, header and footer) and a Russian e-book with a site
    # notice; an empty file.
    en_body = "\n\n".join(_wrap(p, 70) for p in EN * 2)
    en_book = ("\ufeffThe Project Gutenberg eBook of River Tales\r\n\r\nThis ebook is for the use of anyone "
               "anywhere.\r\n\r\nTitle: River Tales\r\n\r\nAuthor: The Corpus Team\r\n\r\n"
               "*** START OF THE PROJECT GUTENBERG EBOOK RIVER TALES ***\r\n\r\nProduced by Volunteers\r\n\r\n"
               + en_body.replace("\n", "\r\n") +
               "\r\n\r\n*** END OF THE PROJECT GUTENBERG EBOOK RIVER TALES ***\r\n\r\nUpdated editions will "
               "replace the previous one.\r\nSection 1. General Terms of Use and Redistributing.\r\n")
    (root / "books" / "river-tales.txt").write_bytes(en_book.encode("utf-8"))
    ru_body = "\n\n".join(RU * 2)
    ru_book = ("Спасибо, что скачали книгу в бесплатной электронной библиотеке Example.ru: https://example.ru\n\n"
               "Приятного чтения!\n\n" + ru_body + "\n")
    (root / "books" / "rasskazy.txt").write_bytes(ru_book.encode("cp1251"))
    (root / "books" / "empty.txt").write_bytes(b"")

    # Text files (one article per file): Russian, Ukrainian, German, and a Spanish page that is not allowed.
    for name, text in [("ru-1.txt", "\n\n".join(RU[2:5])), ("ru-2.txt", "\n\n".join(RU[6:9])),
                       ("uk-1.txt", "\n\n".join(UK)), ("de-1.txt", "\n\n".join(DE)),
                       ("es-1.txt", "\n\n".join(ES))]:
        (root / "articles" / name).write_text(text + "\n", encoding="utf-8")
    write_eval_set(root)


def write_eval_set(root: Path = HERE) -> None:
    """A two-item 'benchmark' for decontamination: a lightly edited copy of the Russian article ru-1.txt (a test
    item leaked into the crawl) and an unrelated passage that matches nothing."""
    (root / "eval").mkdir(exist_ok=True)
    leaked = "\n\n".join(RU[2:5]) + " Конец."
    unrelated = "Which planet is the largest in the solar system, and how many moons does it have today?"
    lines = [json.dumps({"id": "bench-1", "text": leaked}, ensure_ascii=False),
             json.dumps({"id": "bench-2", "text": unrelated}, ensure_ascii=False)]
    (root / "eval" / "benchmark.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _wrap(paragraph: str, width: int) -> str:
    lines, line = [], ""
    for word in paragraph.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    return "\n".join([*lines, line])


if __name__ == "__main__":
    write_sample()
    print("sample written to", HERE)
    print(sum(1 for _ in islice(HERE.rglob("*"), 1000)), "files")
