"""The parser on the four shipped issues: exact values read off the files by hand.

Each issue: masthead date and reporting period, the five Top-5 articles (titles as in
CONTENTS, the At a glance bullets, the MERICS comment, the policy document with English and
Chinese title, issuing bodies and date), every noteworthy item with its full date, authors
and editors.
"""

from __future__ import annotations

import difflib
import re

import pytest

from core_helpers import DATES, ENERGY_BULLET, issue_file, issue_text
from qa import read_issue
from qa.schema import ARTICLE, AT_A_GLANCE, COMMENT, CORPORATE_NEWS, DOCUMENT, EXPLAINER, ITEM, POLICY_NEWS

# Per article: (body title, policy title, Chinese title, issuing bodies, policy date, At a glance bullets).
ARTICLES = {
    "2022-10-05": [
        ("Basic industrial materials to propel China's move into emerging industries",
         "Implementation Plan to Improve the Diversity, Quality and Branding of Basic Industrial Materials",
         "关于印发原材料工业“三品”实施方案的通知", ("MIIT", "SASAC", "SAMR", "CNIPA"), "2022-09-14", 4),
        ("Beijing releases measures to promote specialized SME clusters",
         "Notice on Interim Measures for Promoting the Development of Specialized Industrial Clusters of "
         "Small and Medium-sized Enterprises",
         "工业和信息化部关于印发《促进中小企业特色产业集群发展暂行办法》的通知", ("MIIT",), "2022-09-13", 4),
        ("AI Captain! China advances autonomous shipping development",
         "Announcement of the First Batch of Pilot Projects for Intelligent Transportation (Autonomous "
         "Driving and Intelligent Shipping)",
         "交通运输部办公厅关于公布第一批智能交通先导应用试点项目（自动驾驶和智能航运方向）的通知", ("MOT",), "2022-09-14", 3),
        ("Shanghai plans five-fold increase in autonomous driving sector by 2025",
         "Implementation Plan for Accelerating Innovation and Development of Shanghai's Intelligent "
         "Connected Vehicle Sector",
         "上海市加快智能网联汽车创新发展实施方案", ("Shanghai's Municipal Government (via CAAM)",), "2022-09-06", 4),
        ("New regulations cement Shanghai's status as AI innovation hub",
         "Shanghai Municipal Regulation on Promoting the Development of the AI Industry",
         "上海市促进人工智能产业发展条例", ("Shanghai Municipal People's Congress",), "2022-09-22", 4),
    ],
    "2023-12-06": [
        ("Great robo-leap forward: MIIT charts path toward humanoid robots",
         "Guiding Opinions on the Innovation and Development of Humanoid Robots",
         "工业和信息化部关于印发《人形机器人创新发展指导意见》的通知", ("MIIT",), "2023-11-02", 4),
        ("Foreign firms should be wary of China's latest charm offensive",
         "Letter Regarding the Special Clean-up Work on Unreasonable Differential Treatment of Domestic "
         "and Foreign Capital",
         "商务部办公厅关于请做好内外资不合理差别待遇专项清理工作的函", ("MOFCOM",), "2023-11-08", 3),
        ("Creative ideas needed to get more factories on 5G networks",
         "Work Rules (Temporary) and Guidelines for “5G+ Industrial Internet” Comprehensive Application "
         "Pilot Zones",
         "“5G+工业互联网” 融合应用先导区试点工作规则（暂行），“5G+工业互联网” 融合应用先导区试点建设指南", ("MIIT",),
         "2023-11-23", 4),
        ("Driving for dummies: Autonomous vehicles to take road tests",
         "Notice on Carrying out Pilot Work on the Access and Road Test of Intelligent Connected Vehicles",
         "四部委关于开展智能网联汽车准入和上路通行试点工作的通知", ("MIIT", "MPS", "MOHURD", "MOT"), "2023-11-17", 3),
        ("Data dilemma: Thorny data security penalties pose a challenge for business",
         "Discretionary Guidelines for Administrative Punishments regarding Data Security in the Field of "
         "Industry and Information Technology (Trial) (Draft for Comments)",
         "公开征求对《工业和信息化领域数据安全行政处罚裁量指引（试行）（征求意见稿）》的意见", ("MIIT",), "2023-11-23", 4),
    ],
    "2024-10-02": [
        ("“Made in China” flag bearers: MIIT picks a new set of industrial champions",
         "Notice on the Selection of Manufacturing Champions in 2024 and Reevaluation Work",
         "工业和信息化部办公厅关于开展 2024 年制造业单项冠军企业遴选认定和复核评价工作的通知", ("MIIT",), "2024-09-04", 3),
        ("China promotes more equipment renewal in key industries",
         "Guidelines for Equipment Renewal and Technological Transformation in Key Industrial Sectors",
         "工业和信息化部办公厅关于印发工业重点行业领域设备更新和技术改造指南的通知", ("MIIT",), "2024-09-20", 4),
        # The policy title is broken over two lines (and a blank one) in the file.
        ("A vision for 2027: China to establish a comprehensive mobile IoT ecosystem",
         'Notice on Promoting the Development of the Mobile Internet of Things "Intelligent Connection of Everything"',
         "工业和信息化部办公厅关于推进移动物联网“万物智联”发展的通知", ("MIIT",), "2024-09-12", 4),
        # No Chinese title printed for this one.
        ("Beijing seeks to harness synergies in digital and green transitions",
         "Implementation Guidelines for the Synergistic Development of the Digital and Green Transformations",
         None, ("CAC",), "2024-08-24", 4),
        ("Tracking CO2: China introduces carbon footprint certification pilot",
         "Notice on Carrying Out the Pilot Work of Product Carbon Footprint Labeling Certification",
         "市场监管总局等部门关于开展产品碳足迹标识认证试点工作的通知", ("SAMR",), "2024-09-10", 4),
    ],
    "2024-12-04": [
        ("Unveiling China's new materials big data system strategy",
         "Issuing the Overall Construction Plan for the New Materials Big Data Center System",
         "关于印发《新材料大数据中心总体建设方案》的通知", ("MIIT", "MOF", "NDB"), "2024-10-30", 3),
        ("Fully charged: China aims to further crank up its new energy storage industry",
         "Action Plan for the High-Quality Development of the New Energy Storage Manufacturing Industry "
         "(Draft for Comments)",
         "公开征求对新型储能制造业高质量发展行动方案（征求意见稿）的意见", ("MIIT",), "2024-11-06", 3),
        ("Beijing launches smart factory cultivation program",
         "Notice on Carrying out the Gradient Cultivation Action of Smart Factories in 2024",
         "六部门关于开展 2024 年度智能工厂梯度培育行动的通知", ("MIIT etc.",), "2024-10-28", 4),
        ("Biomanufacturing best practice: MIIT collects model cases",
         "Notice on the Collection of Typical Application Cases of Smart Technologies in Biomanufacturing",
         "工业和信息化部办公厅关于开展智能技术在生物制造领域典型应用案例征集工作的通知", ("MIIT",), "2024-10-30", 3),
        ("MIIT seeks to upgrade traditional manufacturing through model technologies",
         "Notice on the Selection of Advanced and Applicable Technologies",
         "工业和信息化部办公厅关于开展先进适用技术遴选工作的通知", ("MIIT",), "2024-11-11", 4),
    ],
}

# Noteworthy item dates (month-day; the year is the issue's), in the order printed.
NEWS = {
    "2022-10-05": {
        POLICY_NEWS: ["08-31", "09-07", "09-14", "09-14", "09-14", "09-19", "09-19", "09-26"],
        CORPORATE_NEWS: ["09-01", "09-08", "09-20", "09-22", "09-22", "09-23"],
    },
    "2023-12-06": {
        POLICY_NEWS: ["10-26", "11-06", "11-10", "11-13", "11-14", "11-22", "11-24"],
        CORPORATE_NEWS: ["10-31", "11-02", "11-04", "11-10", "11-13", "11-14", "11-24", "11-24"],
    },
    "2024-10-02": {
        POLICY_NEWS: ["08-28", "08-29", "09-02", "09-04", "09-08", "09-08", "09-09", "09-09", "09-10", "09-14"],
        CORPORATE_NEWS: ["08-26", "08-27", "08-27", "09-03", "09-05", "09-18", "09-19", "09-20"],
    },
    "2024-12-04": {
        POLICY_NEWS: ["10-29", "10-29", "10-30", "11-07", "11-08", "11-15", "11-20", "11-25"],
        CORPORATE_NEWS: ["10-29", "10-29", "11-06", "11-12", "11-13", "11-13", "11-14", "11-15", "11-20", "11-21"],
    },
}

MASTHEAD = {  # date, reporting period, authors, editors
    "2022-10-05": ("2022-08-31", "2022-09-27", ("Rebecca Arcesati", "Alexander Brown", "Gregor Sebastian"),
                   ("Claudia Wessling", "Alexander Davey")),
    "2023-12-06": ("2023-10-25", "2023-11-28", ("Alexander Brown", "Wendy Chang", "Jeroen Groenewegen-Lau"),
                   ("Claudia Wessling", "Alexander Davey")),
    "2024-10-02": ("2024-08-24", "2024-09-22", ("Alexander Brown", "Andreas Mischer"),
                   ("Claudia Wessling", "Mary Hennock")),
    "2024-12-04": ("2024-10-29", "2024-11-25", ("Alexander Brown", "Andreas Mischer"),
                   ("Claudia Wessling", "Mary Hennock")),
}


@pytest.fixture(scope="module")
def issues():
    return {d: read_issue(issue_file(d)) for d in DATES}


def contents_titles(text: str) -> dict[int, str]:
    """The numbered CONTENTS entries, read with a regex of this test (not the parser's)."""
    toc = text[text.index("CONTENTS"):text.index("NOTEWORTHY")]
    return {int(m[1]): m[2] for m in re.finditer(r"^(\d)\. (.+?)\s*\.{2,}", toc, re.M)}


def loose(s: str) -> str:
    """Compare titles across quote styles, <sup> tags, spacing and case."""
    s = re.sub(r"\s*<sup>(.*?)</sup>", r"\1", s)
    s = s.translate(str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"'}))
    s = re.sub(r"\s+([:;,.!?])", r"\1", s)  # "CO <sup>2</sup> : China" in CONTENTS
    return " ".join(s.split()).lower()


@pytest.mark.parametrize("date", DATES)
def test_masthead_period_and_people(issues, date):
    issue = issues[date]
    start, end, authors, editors = MASTHEAD[date]
    assert (issue.date, issue.period_start, issue.period_end) == (date, start, end)
    assert issue.authors == authors
    assert issue.editors == editors
    assert issue.source == issue_file(date).name
    assert issue.warnings == ()


@pytest.mark.parametrize("date", DATES)
def test_five_articles_with_titles_as_in_contents(issues, date):
    issue = issues[date]
    toc = contents_titles(issue_text(date))
    assert sorted(toc) == [1, 2, 3, 4, 5]
    assert [s.number for s in issue.articles] == [1, 2, 3, 4, 5]
    assert [s.id for s in issue.articles] == ["1", "2", "3", "4", "5"]
    assert [s.title for s in issue.articles] == [a[0] for a in ARTICLES[date]]
    for s in issue.articles:
        expected = loose(toc[s.number])
        if (date, s.number) == ("2023-12-06", 1):
            # CONTENTS says "MIT" where the body heading says "MIIT": a fuzzy match, and the
            # body's spelling is the one used.
            assert expected != loose(s.title)
            assert difflib.SequenceMatcher(None, expected, loose(s.title)).ratio() > 0.95
            assert "MIIT charts path" in s.title
        else:
            assert loose(s.title) == expected
        assert s.heading == f"{s.number}. {s.title}"


@pytest.mark.parametrize("date", DATES)
def test_article_parts_and_policy_document(issues, date):
    for section, (title, policy, zh, issuers, policy_date, bullets) in zip(issues[date].articles, ARTICLES[date]):
        where = f"{date} article {section.number}"
        kinds = [p.kind for p in section.parts]
        assert kinds[0] == AT_A_GLANCE, where
        assert kinds.count(AT_A_GLANCE) == kinds.count(COMMENT) == kinds.count(DOCUMENT) == 1, where
        assert kinds[-1] == DOCUMENT, where
        glance = section.parts[0]
        assert glance.label == "At a glance"
        assert sum(line.startswith("- ") for line in glance.text.split("\n")) == bullets, where
        comment = next(p for p in section.parts if p.kind == COMMENT)
        assert comment.label == "MERICS comment"
        assert len(comment.text) > 400, where
        assert (section.policy_title, section.policy_title_zh, section.issuers, section.policy_date) == \
               (policy, zh, issuers, policy_date), where
        doc = section.parts[-1]
        assert doc.label == "Policy document" and doc.date == policy_date
        assert doc.text.startswith(f"Article: {policy}"), where
        # The label words are not content: no part starts with them.
        for p in section.parts:
            assert not re.match(r"(At a glance|MERIC[Ss] comment)\s*:", p.text), where


def test_part_texts_exact_where_read_by_hand(issues):
    storage = issues["2024-12-04"].section("2")
    glance = storage.parts[0].text
    assert glance.startswith("The Ministry of Industry and Information Technology (MIIT) released an action plan")
    assert glance.endswith("- Cultivate between three to five companies worth CNY 100 billion\n"
                           "- Increase new energy storage manufacturing capacity to match downstream demand in "
                           "various sectors, for instance transportation, construction, communications, and "
                           "agriculture\n"
                           "- Promote international cooperation in the new energy storage industry through "
                           "mechanisms such as the Belt and Road Initiative (BRI)")
    assert f"- {ENERGY_BULLET}" in glance
    comment = storage.parts[1].text
    # Four paragraphs, link residue removed: "[in 2023](#)" -> "in 2023".
    assert comment.count("\n\n") == 3
    assert "China added 20 gigawatts (GW) in battery energy storage in 2023, helping it" in comment
    assert storage.parts[2].text == (
        "Article: Action Plan for the High-Quality Development of the New Energy Storage Manufacturing Industry "
        "(Draft for Comments) (公开征求对新型储能制造业高质量发展行动方案（征求意见稿）的意见)\n"
        "Issuing body: MIIT\n"
        "Date: November 6, 2024")
    # A bullet separated from its list by a blank line still belongs to the At a glance.
    renewal = issues["2024-10-02"].section("2").parts[0].text
    assert renewal.endswith("- Achieve a digital R&D and design tools adoption rate of 90 percent for industrial "
                            "machine tool enterprises")


def test_markup_residue_is_cleaned_everywhere(issues):
    for issue in issues.values():
        for s in issue.sections:
            assert not re.search(r"\]\(|\*\*|</?sup>|^#", s.title), s.title
            for p in s.parts:
                assert "](" not in p.text and "**" not in p.text and "<sup>" not in p.text, (issue.date, s.id, p.label)
                assert not re.search(r"\\[()]", p.text), (issue.date, s.id, p.label)
    comment = issues["2024-12-04"].section("1").parts[1].text
    assert "so that computing power and software (such as AI and blockchain) can convert" in comment
    # "[\(Link\)](#)" on its own line after the policy title leaves nothing behind.
    assert issues["2023-12-06"].section("4").parts[-1].text.split("\n")[0] == (
        "Article: Notice on Carrying out Pilot Work on the Access and Road Test of Intelligent Connected Vehicles "
        "(四部委关于开展智能网联汽车准入和上路通行试点工作的通知)")


def test_merics_spelt_mixed_case_is_a_comment(issues):
    """2022-10-05 articles 4-5, 2023-12-06 article 5 and 2024-10-02 articles 1-3 say "MERICs comment"."""
    cases = {"2022-10-05": ("4", "5"), "2023-12-06": ("5",), "2024-10-02": ("1", "2", "3")}
    for date, ids in cases.items():
        text = issue_text(date)
        assert text.count("MERICs comment") == len(ids)
        for sid in ids:
            comment = [p for p in issues[date].section(sid).parts if p.kind == COMMENT]
            assert len(comment) == 1 and comment[0].label == "MERICS comment"
    assert issues["2022-10-05"].section("5").parts[1].text.startswith("The move is meant to confirm Shanghai's")


def test_explainer_box_of_2022(issues):
    section = issues["2022-10-05"].section("4")
    assert [p.kind for p in section.parts] == [AT_A_GLANCE, EXPLAINER, COMMENT, DOCUMENT]
    box = section.parts[1]
    assert box.label == "Explainer: China's Taxonomy of Autonomous Vehicles"
    assert box.text.startswith("In March 2022, China's first national standard for grading autonomous driving")
    assert box.text.endswith("under specific operating conditions.")
    # The box is neither part of the At a glance bullets nor of the comment.
    assert "Taxonomy" not in section.parts[0].text and "national standard for grading" not in section.parts[0].text
    assert "national standard for grading" not in section.parts[2].text
    assert section.parts[0].text.endswith("- Establish a domestically leading and internationally competitive "
                                          "standard-setting autonomous car brand")


@pytest.mark.parametrize("date", DATES)
def test_noteworthy_items_counts_and_full_dates(issues, date):
    issue = issues[date]
    news = [s for s in issue.sections if s.kind != ARTICLE]
    assert [(s.id, s.kind, s.title) for s in news] == [
        ("policy-news", POLICY_NEWS, "Policy news"), ("corporate-news", CORPORATE_NEWS, "Corporate news")]
    year = date[:4]
    for s in news:
        assert [p.kind for p in s.parts] == [ITEM] * len(NEWS[date][s.kind])
        assert [p.date for p in s.parts] == [f"{year}-{md}" for md in NEWS[date][s.kind]], s.kind
        for p in s.parts:
            assert p.sources, (date, p.label, p.text[:60])
            assert not re.match(r"\*?\w+ \d{1,2}:", p.text), "the date prefix is not part of the item text"
    # Every item of the file is one part: the number of dated bullets in the NOTEWORTHY part.
    tail = issue_text(date).split("NOTEWORTHY")[-1]
    assert len(re.findall(r"^- \*\w+ \d{1,2}:\*", tail, re.M)) == sum(len(s.parts) for s in news)


def test_noteworthy_items_text_label_and_sources(issues):
    first = issues["2022-10-05"].section("policy-news").parts[0]
    assert first.label == "31 August 2022"
    assert first.text.startswith("The Cyberspace Administration of China (CAC) released guidelines that detail steps")
    assert first.sources == ("CAC guidelines",)
    two = issues["2023-12-06"].section("policy-news").parts[1]
    assert (two.date, two.sources) == ("2023-11-06", ("NDRC notice", "CGTN article"))
    last = issues["2024-12-04"].section("corporate-news").parts[-1]
    assert (last.label, last.sources) == ("21 November 2024", ("SCMP",))
    # An item broken by a page break (blank lines inside it) is one item, rejoined.
    siemens = issues["2024-12-04"].section("corporate-news").parts[0]
    assert "preclinical research of computed tomography spectroscopy cardiovascular imaging, and on digital " \
           "healthcare" in siemens.text
    # An item after a blank line inside the list stays in its section (2022-10-05 September 26).
    assert issues["2022-10-05"].section("policy-news").parts[-1].text.startswith("The MOF and the State Taxation")


def test_contents_and_boilerplate_are_not_content(issues):
    for issue in issues.values():
        every = "\n".join(p.text for s in issue.sections for p in s.parts)
        for words in ("Mercator Institute", "10179 Berlin", "publications@merics.de", "Director Communications",
                      "NOTEWORTHY", "MERICS TOP 5", "....."):
            assert words not in every, (issue.date, words)
        assert len(issue.sections) == 7
