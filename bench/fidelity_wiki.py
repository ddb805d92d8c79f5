"""Wikipedia cleaning fidelity (issue 15, section 3): markup residue per language, disambiguation pages kept,
appendix headings ("See also", "Примечания", ...) kept, and the time wikitext -> text takes per MB.

    .venv/bin/python bench/fidelity_wiki.py            # the shared dumps plus the pages below
    .venv/bin/python bench/fidelity_wiki.py --show uk  # also print every article of one language with residue

en, bg: the dumps in ../shared/data/wikipedia/xml (real pages). ru, uk, ja, vi: no dump of these ships, so this
file holds small pages written for the bench in the shapes the issue names (date pages, galleries, localized image
aliases, indented tables, templates in parentheses, disambiguation pages, appendix sections). They are read as a
dump of their language, with the `<siteinfo>` namespace names a real dump has, so the reader's own path runs.
The goal is <= 1% of articles with any residue in every language.
"""

from __future__ import annotations

import argparse
import bz2
import io
import sys
import time
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from corpus.document import Document  # noqa: E402
from corpus.sources import ReadContext, Skipped  # noqa: E402
from corpus.sources.wikipedia import markup_residue, read_wikipedia, wikitext_to_text  # noqa: E402

SHARED = ROOT.parent / "shared" / "data" / "wikipedia" / "xml"
DUMPS = {"en": ["enwiki-2016-pages-articles1-p10p30302-shortened-206pages.xml.bz2",
                "enwiki-table-markup-5pages.xml.bz2"],
         "bg": ["bgwiki-shortened-3pages-UTF16LE.xml.bz2"]}

# Headings of appendix sections that should not reach the text (checked independently of the cleaner's own list).
APPENDIX_HEADINGS = {"see also", "references", "external links", "notes", "further reading", "см. также",
                     "примечания", "ссылки", "див. також", "примітки", "посилання", "вижте също", "бележки",
                     "външни препратки", "関連項目", "脚注", "参考文献", "外部リンク", "xem thêm", "chú thích",
                     "tham khảo", "liên kết ngoài"}

# The namespace names a real dump of each language declares in <siteinfo> (files: 6, categories: 14).
SITEINFO = {"ru": ("Файл", "Категория"), "uk": ("Файл", "Категорія"), "ja": ("ファイル", "Category"),
            "vi": ("Tập tin", "Thể loại")}

# (title, wikitext, is a disambiguation page)
PAGES: dict[str, list[tuple[str, str, bool]]] = {
    "ru": [
        ("Пушкин, Александр Сергеевич", """{{Писатель
|Имя = Александр Пушкин
|Оригинал имени = {{lang-ru|Александр Сергеевич Пушкин}}
}}
'''Алекса́ндр Серге́евич Пу́шкин''' ({{ОС|26 мая}}&nbsp;[[6 июня]]&nbsp;[[1799 год|1799]], [[Москва]] — {{ОС|29 января}}&nbsp;[[10 февраля]]&nbsp;[[1837 год|1837]], [[Санкт-Петербург]]) — русский поэт<ref name="БРЭ">{{БРЭ|статья=Пушкин}}</ref>.
[[Файл:Orest Kiprensky - Портрет поэта А.С.Пушкина - Google Art Project.jpg|thumb|upright|[[Кипренский, Орест Адамович|О. Кипренский]]. Портрет Пушкина, 1827]]
== Биография ==
=== Детство ===
Пушкин родился в Москве, в [[Немецкая слобода|Немецкой слободе]]<ref>Летопись, с. 21.</ref>. Его прадедом был [[Ганнибал, Абрам Петрович|Абрам Ганнибал]] ({{lang-fr|Abraham Petrovitch Hannibal}}).<br />
В 1811 году поступил в [[Царскосельский лицей]] &laquo;для образования юношества&raquo;.
<poem>
Я помню чудное мгновенье:
Передо мной явилась ты,
</poem>
=== Дуэль ===
{{Main|Дуэль Пушкина и Дантеса}}
Последняя дуэль состоялась [[8 февраля|27 января]] [[1837 год|1837]] года<sup>[[#Примечания|[1]]]</sup>.
{{Начало цитаты}}Цитата из письма.{{Конец цитаты}}
== Память ==
* [[Пушкинский музей]] — [[:en:Pushkin Museum|Pushkin Museum]]
== Литература ==
* {{книга|автор=Лотман Ю. М.|заглавие=Пушкин|год=1995}}
* ''Тынянов Ю. Н.'' Пушкин и его современники. — М.: Наука, 1969. — 424&nbsp;с.
== Ссылки ==
{{ВС}}
{{Внешние ссылки}}
{{Пушкин}}
[[Категория:Александр Пушкин]]
""", False),
        ("1 января", """'''1 января''' — 1-й день [[Григорианский календарь|григорианского календаря]]. До конца года
остаётся 364 дня ({{Високосный год|365}} в [[Високосный год|високосные годы]]).
{{Календарь января}}
== События ==
=== До XIX века ===
* [[1001 год|1001]] — ''[[Иштван I]]'' коронован как первый король [[Венгрия|Венгрии]].
* [[1502 год|1502]] — португальцы открыли залив ''Гуанабара'' и назвали его '''Рио-де-Жанейро.
* [[1700 год|1700]] — в [[Россия|России]] введено летоисчисление от Рождества Христова&nbsp;(''указ [[Пётр I|Петра&nbsp;I]]'').
=== XX век ===
* [[1901 год|1901]] — образован [[Австралийский Союз]].
* '''[[1993 год|1993]]''' — [[Чехословакия]] разделилась на [[Чехия|Чехию]] и [[Словакия|Словакию]]'''.
== Родились ==
* [[1879 год|1879]] — [[Форстер, Эдвард Морган|Эдвард Морган Форстер]] ({{ум.|1970}}), английский писатель.
== См. также ==
* [[31 декабря]]
== Примечания ==
{{примечания}}
== Ссылки ==
* [http://www.example.org/1jan 1 января в истории]
[[Категория:Дни года|0101]]
""", False),
        ("Чайковский, Пётр Ильич", """{{Музыкант
| Имя = Пётр Ильич Чайковский
| Изображение = Tchaikovsky.jpg
}}
'''Пётр Ильи́ч Чайко́вский''' ({{ОС|25 апреля}} [[7 мая]] [[1840 год|1840]], [[Воткинск]] — {{ОС|25 октября}} [[6 ноября]] [[1893 год|1893]], [[Санкт-Петербург]]) — русский [[композитор]].
[[Изображение:Tchaikovsky by Reutlinger (cropped).jpg|thumb|left|200px|Чайковский в 1888 году]]
== Биография ==
Родился в семье инженера ({{lang-fr|Ilya Tchaikovsky}}; {{ref-fr}}).<ref>{{cite web|url=http://x.org|title=Биография}}</ref>
[[Файл:Votkinsk museum.jpg|мини|справа|300px|Дом-музей в [[Воткинск]]е]]
В 1859 году окончил [[Императорское училище правоведения|училище правоведения]].
<gallery>
Файл:Tchaikovsky 1863.jpg|Чайковский в 1863 году
Изображение:Tchaikovsky 1877.jpg|С женой
</gallery>
== Литература ==
* ''Кунин И. Ф.'' Пётр Ильич Чайковский. — М.: Молодая гвардия, 1958.
== Ссылки ==
* [http://www.tchaikovsky-research.net Tchaikovsky Research]
* {{ВТ-ЭСБЕ|Чайковский, Петр Ильич}}
""", False),
        ("Меркурий", """{{неоднозначность}}
'''Меркурий''':
* [[Меркурий (планета)]] — ближайшая к Солнцу планета.
* [[Меркурий (мифология)]] — римский бог торговли.
""", True),
        ("Ока", """'''Ока́''' может означать:
* [[Ока (река)]]
* [[Ока (автомобиль)]]
__DISAMBIG__
""", True),
        ("Список станций", """Станции линии по состоянию на [[2020 год]].
:{| class="wikitable sortable"
|-
! Станция !! Открыта
|-
| [[Сокольники (станция метро)|Сокольники]] || [[1935 год|1935]]
|-
| {{nowrap|Красносельская}} || 1935
|}
Линия продолжает расти.
::{| class="wikitable"
| внешняя
{|
| вложенная || таблица
|}
|}
Конец списка.
""", False),
        ("Гамлет (группа)", """'''«Гамлет»''' — [[рок-группа]] из [[Москва|Москвы]]. Первый альбом {{nowrap|[[Гармидер (альбом)|«Гармидер»}}]] вышел в 1995 году.
Второй — [[Тишина (альбом)|«Тишина» [2]]]. Третий — [[[Эхо]]]. Гитарист ушёл в группу ''[[Ария (группа)|Ария''.
Состав: вокал&nbsp;— Иван&#160;Петров, гитара&nbsp;&mdash; Пётр Сидоров &amp; друзья.
""", False),
        ("Волга", """'''Во́лга''' ({{lang-tt|Идел}}, {{lang-cv|Атăл}}) — река в [[Европейская часть России|европейской части России]].
{{Река
|Название = Волга
}}
Длина реки — 3530&nbsp;км ({{comment|до 1930-х|до строительства водохранилищ}}). Площадь бассейна — 1&nbsp;360&nbsp;000 км² (, ).
[[Image:Volga River.jpg|frame|Волга у [[Ярославль|Ярославля]]]]
[[Медиа:Volga song.ogg|Песня]]
== Примечания ==
{{примечания|2}}
== Литература ==
Литература о Волге обширна; первые лоции реки составлены в XVIII веке, а в XIX веке реку описывали путешественники и художники.
""", False),
    ],
    "uk": [
        ("Шевченко Тарас Григорович", """{{Особа
| ім'я = Тарас Шевченко
}}
'''Тара́с Григо́рович Шевче́нко''' ({{OldStyleDate|9 березня|1814|25 лютого}}, [[Моринці]] — {{OldStyleDate|10 березня|1861|26 лютого}}, [[Санкт-Петербург]]) — український [[поет]], [[художник]]<ref>{{Cite web|url=http://x.ua|title=Шевченко}}</ref>.
[[Файл:Shevchenko self portrait.jpg|міні|ліворуч|250пкс|''Автопортрет'', 1840]]
<center>'''«Кобзар»''' — головна збірка поета.</center>
== Життєпис ==
Народився в родині [[кріпак]]а<sup>[1]</sup>. У 1838 році викуплений з кріпацтва&nbsp;— за участі [[Брюллов Карл Павлович|К.&nbsp;Брюллова]] та [[Жуковський Василь Андрійович|В.&nbsp;Жуковського]].
<gallery>
Taras Shevchenko selfportrait 1860.jpg|Автопортрет, 1860
</gallery>
{| class="wikitable" style="float:right"
|+ Твори
|-
| [[Кобзар (збірка)|Кобзар]] || 1840
|-
| [[Гайдамаки (поема)|Гайдамаки]] || 1841
|}
== Література ==
* ''Зайцев П.'' Життя Тараса Шевченка. — Нью-Йорк, 1955.
== Посилання ==
* {{Гутенберг автор|id=Shevchenko}}
* [http://litopys.org.ua/shevchenko/ Тарас Шевченко] // Ізборник
{{Шевченко}}
[[Категорія:Українські поети]]
""", False),
        ("1 січня", """'''1 сі́чня''' — перший день року за [[григоріанський календар|григоріанським календарем]]. До кінця року залишається 364 дні ({{Високосний рік|365}}).
== Події ==
* [[1919]] — '''''Проголошено''' Білоруську Соціалістичну Радянську Республіку''.
* [[1992]] — [[Бутрос Бутрос-Галі]] став Генеральним секретарем ''[[Організація Об'єднаних Націй|ООН]].
* [[1999]] — ''запроваджено [[Євро|євро]]'''.
== Народились ==
* ''[[1735]]'' — [[Пол Ревір]], американський срібляр
* [[1895]] — ''Дзиґа Вертов'', український кінорежисер ({{р.|1954}}).
== Свята ==
* {{Прапор|Україна}} [[Україна]]: Новий рік
== Див. також ==
* [[31 грудня]]
== Примітки ==
{{reflist}}
== Посилання ==
* [https://example.org/jan1 Цей день в історії]
[[Категорія:Дні року]]
""", False),
        ("Прапор Білорусі", """'''Прапор Білорусі''' — один з [[Державні символи Білорусі|державних символів]] [[Білорусь|Білорусі]].
[[Зображення:Flag of Belarus.svg|thumb|250px|Сучасний прапор]]
== Історія ==
У 1918 та 1991—1995 роках використовувався біло-червоно-білий прапор.
<gallery mode="packed">
File:Flag of Belarus (1918, 1991-1995).svg|1918, 1991—1995
Файл:Flag of the Byelorussian SSR.svg|БРСР
</gallery>
<Gallery>
Flag of Belarus (1995-2012).svg|1995—2012
</Gallery>
{{Галерея
|File:Flag of Belarus (1918, 1991-1995).svg|
|Файл:Coat of arms of Belarus.svg|Герб
}}
== Примітки ==
<references />
""", False),
        ("Меркурій", """{{Неоднозначність}}
'''Меркурій''' — ''назва кількох об'єктів'':
* [[Меркурій (планета)]]
* [[Меркурій (міфологія)]]
""", True),
        ("Ліра", """'''Ліра''' може означати:
* [[Ліра (музичний інструмент)]]
* [[Ліра (сузір'я)]]
{{багатозначність}}
""", True),
        ("Гармидер", """'''«Гармидер»''' — альбом гурту [[ГаРмИдЕр]]. Назва альбому {{lang-en|''Mess''}} написана як [[ГаРмИдЕр|«ГаРмИдЕр»]]]].
Пісні: ''«Перша»'', '''«Друга»''' та «Третя».&nbsp;Запис тривав три&nbsp;місяці (&#8470;&nbsp;1 у чарті).
:{| class=wikitable
! Пісня !! Тривалість
|-
| Перша || 3:20
|}
Альбом отримав схвальні відгуки (, ).
""", False),
        ("Київ", """'''Ки́їв''' ({{МФА|ˈkɪjiu̯}}; {{lang-en|Kyiv}}) — [[столиця]] і найбільше місто [[Україна|України]].
[[Файл:Kyiv collage.jpg|міні|праворуч|300пкс|Київ]]
[[Зображення:Kyiv Pechersk Lavra.jpg|мініатюра|Лавра]]
Місто розташоване на річці [[Дніпро]] ( ; ).
== Населення ==
{| class="wikitable"
|+ Населення
|-
! Рік !! Осіб
|-
| 2001 || 2&nbsp;611&nbsp;327
|}
== Див. також ==
* [[Список районів Києва]]
== Джерела ==
* ''Київ: енциклопедичний довідник.'' — К., 1981.
== Посилання ==
* [http://kyivcity.gov.ua Офіційний сайт]
""", False),
    ],
    "ja": [
        ("夏目漱石", """{{Infobox 作家
| name = 夏目 漱石
}}
'''夏目 漱石'''（なつめ そうせき、[[1867年]][[2月9日]]〈[[慶応]]3年[[1月5日 (旧暦)|1月5日]]〉 - [[1916年]]〈[[大正]]5年〉[[12月9日]]）は、日本の[[小説家]]、[[評論家]]<ref group="注">本名は金之助。</ref>。
[[画像:Natsume Soseki photo.jpg|thumb|right|200px|夏目漱石（1912年）]]
== 生涯 ==
=== 幼少期 ===
江戸の牛込馬場下横町（現在の[[東京都]][[新宿区]]喜久井町）に生まれる{{Sfn|江藤|1970|p=12}}。
{{Main|夏目漱石の生涯}}
=== 作家として ===
『[[吾輩は猫である]]』（{{Lang|en|I Am a Cat}}）で文壇に登場した&#x3002;
<gallery>
ファイル:Botchan.jpg|『坊っちゃん』
</gallery>
== 脚注 ==
=== 注釈 ===
{{Notelist}}
=== 出典 ===
{{Reflist|group="注"}}
== 参考文献 ==
* {{Cite book|和書|author=江藤淳|title=漱石とその時代|year=1970}}
== 外部リンク ==
* {{青空文庫著作者|148|夏目 漱石}}
* [https://www.soseki.example/ 漱石山房記念館]
{{Normdaten}}
{{DEFAULTSORT:なつめ そうせき}}
[[Category:日本の小説家]]
""", False),
        ("東京都", """{{基礎情報 日本の都道府県
|画像 = Tokyo montage.jpg
}}
'''東京都'''（とうきょうと、{{lang-en-short|Tokyo Metropolis}}）は、[[日本]]の[[首都]]である。
[[画像:Tokyo Tower and around Skyscrapers.jpg|thumb|556px|center|東京タワー周辺]]
[[ファイル:Shinjuku skyscrapers.jpg|サムネイル|左|200px|[[新宿]]の高層ビル群]]
[[Image:Tokyo Station.jpg|thumb|東京駅]]
== 地理 ==
'''東京都'''は[[関東地方]]の南西部に位置する（{{要出典|date=2020年1月}}）。人口は約1400万人（、）。
:{| class="wikitable"
! 区 !! 人口
|-
| [[千代田区]] || 6万
|}
== 関連項目 ==
* [[東京の観光地]]
== 脚注 ==
{{Reflist}}
== 参考文献 ==
* 『東京都史』東京都、1990年。
== 外部リンク ==
* [https://www.metro.tokyo.lg.jp/ 東京都公式ホームページ]
{{Normdaten}}
[[Category:東京都|*]]
[[カテゴリ:日本の都道府県]]
""", False),
        ("1月1日", """'''1月1日'''（いちがつついたち、いちがつついたち）は、[[グレゴリオ暦]]で年始から1日目にあたる。
== できごと ==
* [[1868年]] - '''明治'''への改元が決まる''。
* [[1912年]] - [[中華民国]]が成立''（[[孫文]]が臨時大総統に就任）。
* '''[[1995年]]''' - [[世界貿易機関]]（WTO）が発足'''。
== 誕生日 ==
* [[1879年]] - [[E・M・フォースター]]、小説家（+ [[1970年]]）
== 関連項目 ==
{{Commonscat|January 1}}
* [[元日]]
""", False),
        ("マーキュリー", """'''マーキュリー'''
* [[水星]] - 太陽系の惑星。
* [[メルクリウス]] - ローマ神話の神。
{{aimai}}
""", True),
        ("佐藤", """'''佐藤'''（さとう）は、日本人の姓の一つ。
* [[佐藤栄作]] - 政治家
{{人名の曖昧さ回避}}
""", True),
        ("富士山", """'''富士山'''（ふじさん）は、[[静岡県]]と[[山梨県]]に跨る[[活火山]]である<ref name="a">{{Cite web|title=富士山}}</ref>。
<gallery>
画像:Mount Fuji from Hotel Mount Fuji.jpg|河口湖から
ファイル:FujiSunriseKawaguchiko2025WP.jpg|日の出
</gallery>
標高は3776&nbsp;m&#12290;日本最高峰である。
{| class="wikitable"
|-
! 合目 !! 標高
|-
| 五合目 || 2305
|}
== 関連項目 ==
* [[富士山の世界遺産登録]]
== 外部リンク ==
* [http://www.fujisan-223.com/ 富士山NET]
""", False),
        ("京都", """'''京都'''（きょうと）は、[[日本]]の都市。
* [[京都市]]
* [[京都府]]
__DISAMBIG__
""", True),
    ],
    "vi": [
        ("Hồ Chí Minh", """{{Thông tin viên chức
| tên = Hồ Chí Minh
}}
'''Hồ Chí Minh''' (chữ Hán: {{lang|zh-Hant|胡志明}}; [[19 tháng 5]] năm [[1890]] – [[2 tháng 9]] năm [[1969]]) là nhà cách mạng người [[Việt Nam]]<ref name="a">{{chú thích sách|tựa đề=Tiểu sử}}</ref>.
[[Tập_tin:Ho Chi Minh 1946.jpg|nhỏ|trái|220px|Hồ Chí Minh năm 1946]]
[[Slika:Ho Chi Minh Mausoleum.jpg|thumb|Lăng Chủ tịch]]
== Tiểu sử ==
Ông sinh ra tại làng [[Kim Liên, Nam Đàn|Kim Liên]], [[Nghệ An]]<sup>[1]</sup>.&nbsp;Năm 1911, ông rời Việt Nam trên tàu ''[[Amiral Latouche-Tréville]]''.
{{Chính|Hành trình cứu nước}}
== Ghi chú ==
{{notelist}}
== Tham khảo ==
{{tham khảo|2}}
== Liên kết ngoài ==
* {{Commonscat|Ho Chi Minh}}
* [http://www.hochiminh.vn Trang thông tin]
[[Thể loại:Chủ tịch nước Việt Nam]]
""", False),
        ("Hà Nội", """{{Thông tin khu dân cư
| tên = Hà Nội
}}
'''Hà Nội''' ({{IPA|vi|hàː nôjˀ}}) là [[thủ đô]] của [[Việt Nam]].
[[Hình:Hanoi Skyline.jpg|nhỏ|phải|250px|Toàn cảnh Hà Nội]]
[[Tập tin:Hoan Kiem Lake.jpg|thumb|[[Hồ Hoàn Kiếm]]]]
== Lịch sử ==
Năm [[1010]], [[Lý Thái Tổ]] dời đô về [[Thăng Long]] (, ).<ref>{{chú thích web|url=http://x.vn|tiêu đề=Lịch sử}}</ref>
<gallery>
Tập tin:Temple of Literature.jpg|Văn Miếu
Hình:One Pillar Pagoda.jpg|Chùa Một Cột
</gallery>
== Xem thêm ==
* [[Danh sách quận huyện Hà Nội]]
== Chú thích ==
{{tham khảo}}
== Tham khảo ==
* ''Lịch sử Thăng Long – Hà Nội''. Nhà xuất bản Hà Nội, 2000.
== Liên kết ngoài ==
* [http://hanoi.gov.vn Cổng thông tin Hà Nội]
* [https://example.vn/hn Hà Nội] trên trang ví dụ
[[Thể loại:Thủ đô châu Á]]
""", False),
        ("1 tháng 1", """'''Ngày 1 tháng 1''' là ngày thứ 1 trong [[lịch Gregory]].
== Sự kiện ==
* [[1804]] – ''[[Haiti]] tuyên bố độc lập''.
* [[1959]] – '''[[Fidel Castro]]''' ''lên nắm quyền ở [[Cuba]].
* [[1999]] – '''Đồng [[euro]] ra đời'''''.
== Sinh ==
* [[1879]] – [[E. M. Forster]], nhà văn (m. [[1970]])
== Xem thêm ==
* [[31 tháng 12]]
== Tham khảo ==
{{tham khảo}}
""", False),
        ("Sao Thủy (định hướng)", """'''Sao Thủy''' có thể là:
* [[Sao Thủy]], hành tinh
* [[Mercury (thần thoại)]]
{{trang định hướng}}
""", True),
        ("Hồng", """'''Hồng''' có thể là:
* [[Màu hồng]]
* [[Sông Hồng]]
{{định hướng}}
""", True),
        ("Danh sách tỉnh", """Danh sách các tỉnh của Việt Nam theo dân số&nbsp;năm 2019.
:{| class="wikitable"
|-
! Tỉnh !! Dân số
|-
| [[Hà Nội]] || 8&nbsp;053&nbsp;663
|-
| [[Thành phố Hồ Chí Minh|TP. Hồ Chí Minh]] || 8&nbsp;993&nbsp;082
|}
Các tỉnh được xếp theo thứ tự giảm dần ( ; ).
""", False),
    ],
}


def synthetic_dump(lang: str, pages: list[tuple[str, str, bool]]) -> bytes:
    files, categories = SITEINFO[lang]
    head = (f'<mediawiki xml:lang="{lang}"><siteinfo><sitename>Wikipedia</sitename>'
            f"<base>https://{lang}.wikipedia.org/wiki/Main</base><namespaces>"
            f'<namespace key="6" case="first-letter">{files}</namespace>'
            f'<namespace key="14" case="first-letter">{categories}</namespace></namespaces></siteinfo>')
    body = "".join(f"<page><title>{escape(title)}</title><ns>0</ns><id>{i}</id><revision><text>{escape(text)}"
                   f"</text></revision></page>" for i, (title, text, _) in enumerate(pages, 1))
    return (head + body + "</mediawiki>").encode("utf-8")


def read_dump(name: str, data: bytes) -> tuple[list[Document], Counter]:
    ctx = ReadContext(source="bench", path=name, rel=name)
    docs, skipped = [], Counter()
    for item in read_wikipedia(io.BytesIO(data), ctx):
        if isinstance(item, Document):
            docs.append(item)
        elif isinstance(item, Skipped):
            skipped[item.kind] += 1
    return docs, skipped


def appendix_headings(text: str) -> int:
    return sum(line.strip().casefold().rstrip(":") in APPENDIX_HEADINGS for line in text.split("\n"))


def article_wikitexts(data: bytes) -> list[str]:
    """Article (namespace 0, not a redirect) wikitexts of a dump, for timing the cleaner alone."""
    texts, page = [], {}
    for _, elem in ET.iterparse(io.BytesIO(data)):
        tag = elem.tag.rsplit("}", 1)[-1]
        if tag in ("ns", "text", "redirect"):
            page[tag] = elem.text or ""
        elif tag == "page":
            if page.get("ns") == "0" and "redirect" not in page and not page.get("text", "").lstrip().lower(
                    ).startswith("#redirect"):
                texts.append(page.get("text", ""))
            page = {}
            elem.clear()
    return texts


def seconds_per_mb(texts: list[str], repeat: int = 3) -> float:
    size = sum(len(t.encode("utf-8")) for t in texts) / 1e6
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        for text in texts:
            wikitext_to_text(text)
        best = min(best, time.perf_counter() - started)
    return best / size


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--show", metavar="LANG", help="print the articles of LANG that have residue")
    args = parser.parse_args(argv)

    rows = []
    for lang in ("en", "ru", "uk", "bg", "ja", "vi"):
        docs, skipped, disambiguation_kept = [], Counter(), 0
        if lang in DUMPS:
            if not SHARED.is_dir():
                print(f"{lang}: shared data not found at {SHARED}; skipped")
                continue
            for name in DUMPS[lang]:
                d, s = read_dump(name, (SHARED / name).read_bytes())
                docs += d
                skipped += s
        else:
            docs, skipped = read_dump(f"{lang}.xml", synthetic_dump(lang, PAGES[lang]))
            disambiguation_titles = {title for title, _, is_disambiguation in PAGES[lang] if is_disambiguation}
            disambiguation_kept = sum(d.title in disambiguation_titles for d in docs)
        kinds = Counter(kind for d in docs for kind in markup_residue(d.text))
        with_residue = [d for d in docs if markup_residue(d.text)]
        headings = sum(appendix_headings(d.text) for d in docs)
        rows.append((lang, len(docs), len(with_residue), kinds, skipped["disambiguation"], disambiguation_kept,
                     headings))
        if args.show == lang:
            for d in with_residue:
                print(f"--- {d.title}: {markup_residue(d.text)}\n{d.text}\n")

    print(f"{'lang':<5}{'articles':>9}{'residue':>9}{'share':>8}{'disamb. skipped':>17}{'disamb. kept':>14}"
          f"{'appendix headings':>19}  residue kinds")
    for lang, n, bad, kinds, dis_skipped, dis_kept, headings in rows:
        share = 100 * bad / n if n else 0.0
        print(f"{lang:<5}{n:>9}{bad:>9}{share:>7.1f}%{dis_skipped:>17}{dis_kept:>14}{headings:>19}  "
              + ", ".join(f"{k} {v}" for k, v in kinds.most_common()))

    if SHARED.is_dir():
        texts = article_wikitexts(bz2.decompress((SHARED / DUMPS["en"][0]).read_bytes()))
        mb = sum(len(t.encode("utf-8")) for t in texts) / 1e6
        print(f"\nwikitext_to_text on the en dump ({len(texts)} articles, {mb:.1f} MB of wikitext): "
              f"{seconds_per_mb(texts):.3f} s/MB (best of 3)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
