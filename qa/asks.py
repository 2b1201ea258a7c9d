"""What a question asks for: the kind of answer (a date, an amount, a body...), the thing it
is about, and the details an answer must contain (years, figures, names).

Everything here reads the question's words only; nothing is tuned to the archive. The
answerer uses it to pick the sentence that carries the answer, and the verdict uses it to
tell an answer from a near miss: a passage about the right plan that gives 2027 targets is
not an answer to "the 2030 target", and revenue is not profit.
"""

from __future__ import annotations

import enum
import functools
import re
from dataclasses import dataclass

from .lexical import STOPWORDS, tokenize, words
from .text import MONTH_RE


class Slot(str, enum.Enum):
    """The kind of answer a question asks for."""
    DATE = "date"          # when, by when, deadline, what date
    MONEY = "money"        # how much funding / investment / profit / a fine or price
    COUNT = "count"        # how many
    SHARE = "share"        # what share / percentage / rate
    BODY = "body"          # who issued, which ministry or agency
    COMPANY = "company"    # which company or firm
    PLACE = "place"        # where, which city, province or country
    TITLE = "title"        # the name or title of a document
    SOURCE = "source"      # where a figure or report comes from
    DURATION = "duration"  # how long
    YESNO = "yes_no"       # does / is / will ...
    REASON = "reason"      # why
    LIST = "list"          # which measures, what are the targets
    OTHER = "other"


@dataclass(frozen=True)
class Asked:
    slot: Slot
    focus: tuple[str, ...] = ()
    """Stems of the attribute asked about ("profit" in "What was CATL's net profit?"), when it is
    one the issues state in known words (`_FAMILIES`): for an amount, a count, a share or a date,
    the answer must state that attribute, not just any figure."""
    focus_phrase: str = ""
    """The same words as asked, for "The issues don't give ..."."""
    years: tuple[str, ...] = ()
    """Years the question asks about, outside its date phrases ("the 2030 target", "output in 2022"),
    which the quoted sentence must state; not a year that names a document ("the 2022 plan")."""
    figures: tuple[str, ...] = ()
    """Other numbers the question names ("30 GW", "CNY 100 billion")."""
    names: tuple[str, ...] = ()
    """Proper names and acronyms after the first word ("Germany", "CATL", "Xiamen Air")."""
    counted: tuple[str, ...] = ()
    """For "how many X", the stems of X: the number must count that."""
    chinese_title: bool = False
    """The question asks for a document's Chinese title."""
    place: str = ""
    """For a place, the kind asked: "city", "province", "country" ("" for any: "where")."""
    language: str = "en"
    """"en", or the language the question appears to be in ("Chinese", "German", ...)."""
    deadline: bool = False
    """A date asked as a deadline ("by what date", "until when can comments be sent"): a policy's
    own date is not one; only a date after "until", "by", "before", "due" is."""


# Filler words between "which" and what it asks for ("which three ministries", "which UK graphene
# manufacturer"), but not a verb: "what should european firms watch" asks for no company.
_FILL = r"(?:(?!(?:should|do|does|did|can|could|will|would|are|is|was|were|have|has|had|must|might|may|the|kinds?|types?|sorts?)\b)[\w'-]+ ){0,3}"
_WHICH = rf"(?:^|,\s*)(?:\w+ )?(?:which|what) {_FILL}"
# A money word naming a thing of its own ("the subsidy scheme", "the tariff regime") asks for no amount.
_MONEY_NOUN = (r"(?:price|cost|costs|fines?|penalt(?:y|ies)|budget|funding|subsid(?:y|ies)|profits?|revenues?|turnover|"
               r"tariffs?|worth|valuation|(?<!foreign )investment)"
               r"(?! (?:schemes?|programs?|programmes?|polic(?:y|ies)|plans?|regimes?|rules|systems?|catalogues?|lists?)\b)")
_AUX = r"(?:is|are|was|were|will|would|do|does|did|has|have|had|can|could|should)"
# "Who issued / put out / is behind" a document: its issuing bodies (the search also reads its title block).
WHO_ISSUED = (r"\bwho (?:\w+ )?(?:issued|issues|released|publish(?:ed|es)|put out|puts out|came out with|brought out|"
              r"signed|approved|drafted|adopted|wrote|authored|(?:is|are|was|were) behind)\b")
# Verbs of judgement: "where does MERICS see / think ..." asks where in an argument, not on a map.
_OPINION = r"(?:think|see|believ|expect|say|argu|suggest|stand|lag|fall|fail|struggl|excel|lead|need|lack)\w*"

# First match wins: the order puts the most specific ways of asking first.
_SLOTS: list[tuple[Slot, re.Pattern]] = [
    (Slot.YESNO, re.compile(rf"^{_AUX}\b|^(?:must|may)\b|,\s*{_AUX} (it|they|there|this|that|the)\b", re.I)),
    (Slot.SOURCE, re.compile(r"\b(data )?sources?\b|\bwho (made|estimated|reported|compiled)\b|\bwhere do(es)? .{0,60} come from\b|"
                             rf"\baccording to (whom|which)\b|{_WHICH}(outlet|newspaper|publication|media)\b", re.I)),
    (Slot.REASON, re.compile(rf"^why\b|\bwhy {_AUX}\b|\b(reason|motivation|rationale)s?\b", re.I)),
    (Slot.DURATION, re.compile(r"\bhow long\b|\bfor how many (years|months)\b|\bduration\b", re.I)),
    (Slot.DATE, re.compile(rf"^(?:until when|by when)\b|\bwhen {_AUX}\b|\b(what|which) (date|day|month|year)\b|\bdeadlines?\b|"
                           r"\bdue date\b|\btake effect\b|\bcome into (force|effect)\b", re.I)),
    (Slot.SHARE, re.compile(r"\b(what|which) (share|percentage|proportion|per ?cent|rate)\b|\bhow much of\b|\bwhat per ?cent\b|"
                            r"\bwhat share\b", re.I)),
    # An amount of money: asked as such ("how much funding", "what did X pay", "what was CATL's net
    # profit", "how big were the fines"), not a money word in passing ("the penalty regime").
    (Slot.MONEY, re.compile(rf"\bhow much ([\w-]+ ){{0,3}}(money|funding|capital|investment|subsid\w*|support|compensation|payments?|fees?|remuneration)\b|\bwhat did .{{1,60}}\b(pay|spend|invest)\b|"
                            rf"\bhow much .{{1,40}}\b(pay|paid|spend|spent|invest|invested|investing|cost)\b|\bat what price\b|"
                            rf"\b(what|how (big|high|large|much)) {_AUX} (\S+ ){{0,5}}?{_MONEY_NOUN}\b|"
                            rf"\b{_MONEY_NOUN} (of|for|in|on) .{{0,60}}\?$|^{_MONEY_NOUN}\b|"
                            rf"\b(what|which) (\w+ ){{0,2}}{_MONEY_NOUN}\b|\b(contract|deal|order|transaction|market|investment) (value|size)\b|"
                            r"\b(value|size) of (the|its|their|this) (\S+ ){0,4}(deal|contract|order|market|investment|stake)\b", re.I)),
    (Slot.COUNT, re.compile(r"\bhow many\b|\bnumber of\b|\bhow much\b", re.I)),
    (Slot.BODY, re.compile(rf"{_WHICH}(ministry|ministries|agency|agencies|body|bodies|department|departments|"
                           r"authority|authorities|regulators?|government bodies|institutions?|commissions?)\b|\bissued (it|by|this|the)\b|"
                           rf"\bissuing\b|\bissuers?\b|{WHO_ISSUED}", re.I)),
    (Slot.COMPANY, re.compile(rf"{_WHICH}(company|companies|firm|firms|carmakers?|manufacturers?|makers?|chipmakers?|"
                              r"groups?|partners?|buyers?|investors?|brands?|suppliers?|operators?)\b", re.I)),
    (Slot.PLACE, re.compile(rf"^(?:\w+ )?where {_AUX}\b(?!(?: \S+){{1,4}}? (?:{_OPINION})\b)|{_WHICH}(city|cities|province|provinces|country|countries|region|regions|"
                            r"location|locations)\b", re.I)),
    (Slot.TITLE, re.compile(r"\b(what (is|was)|what's) the (\w+ ){0,2}(title|name) of\b|\b(english|chinese|official|full) (title|name)\b|"
                            rf"\bwhat {_AUX} (\S+ ){{1,10}}called\b|\btitle of the\b", re.I)),
    (Slot.LIST, re.compile(r"\b(what|which) (are|were)\b|\b(targets|goals|measures|steps|priorities|areas|tasks|requirements|sectors|"
                           r"industries|categories|fields|technologies|products|examples|list)\b", re.I)),
]

# Where the attribute asked about is named: "how many X", "what is the X of", "which X were".
_FOCUS = [
    re.compile(r"\bhow (?:many|much) (?P<f>[\w' -]+?)(?= (?:is|are|was|were|do|does|did|will|would|has|have|had|can|could|should|in|of|for|to|by|on|at|from|with|per|under|so)\b|[?,.;]|$)", re.I),
    re.compile(r"\b(?:what|which) (?:is|are|was|were|will be) the (?P<f>[\w' -]+?)(?= (?:of|for|in|on|that|to|by|under|from|at|behind|set|given|with|proposed|planned|announced)\b|[?,.;]|$)", re.I),
    re.compile(r"\bwhen (?:is|was|are|were|will) the (?P<f>[\w' -]+?)(?= (?:of|for|in|on|that|to|by|under|from|at)\b|[?,.;]|$)", re.I),
    re.compile(r"\b(?:what|which) (?P<f>(?:[\w'-]+ ){0,2}?[\w'-]+) (?=(?:is|are|was|were|do|does|did|will|would|has|have|had|can|could|should)\b)", re.I),
    re.compile(r"\b(?P<f>take effect|come into (?:force|effect)|enter into force)\b", re.I),
]

# Words that say what kind of thing is asked rather than which: they never need support.
_GENERIC = frozenset(tokenize(
    "target targets goal goals plan plans policy policies measure measures thing things aim aims figure figures "
    "number numbers amount amounts value worth level levels size total kind kinds type types detail details year years "
    "time date dates day month role way ways exactly actually much many new main key overall specific current "
    "china chinese beijing government state national country official officials issue issues newsletter merics "
    "latest recent report mentioned said say expected planned proposed announced released set given"))

# Attributes analysts ask about, each with the words that state it in the issues. A focus word
# is supported by a passage that says any word of its family (stems).
_FAMILIES = [
    "fund funding financing finance subsidy subsidies investment invest capital budget allocate allocation grant "
    "support spending spend money yuan cny rmb usd dollar dollars euro euros",
    "fine fines penalty penalties sanction sanctions punish punishment",
    "profit profits earnings margin",
    "revenue revenues sales turnover income",
    "price prices cost costs pay paid worth value valuation amount sum",
    "deadline until due submit submission within",
    "tariff tariffs duty duties levy",
    "output production produce produced manufacture manufactured",
    "share percent percentage proportion ratio",
    "stake stakes ownership owned own shareholding equity",
    "company companies firm firms enterprise enterprises player players business businesses group groups "
    "champion champions maker makers manufacturer manufacturers",
    "job jobs employee employees staff worker workers employment headcount",
    "effect effective force implement implemented implementation take",
    "export exports",
    "body bodies ministry ministries agency agencies department departments authority authorities regulator "
    "regulators commission administration",
    "pilot pilots trial trials test tests experiment experiments",
    "tier tiers level levels grade grades category categories class classes",
    "capacity capacities",
]
_FAMILY_OF: dict[str, int] = {}
for _i, _fam in enumerate(_FAMILIES):
    for _s in tokenize(_fam):
        _FAMILY_OF.setdefault(_s, _i)
# Families that name a measured attribute (not "company", which says who).
_ATTRIBUTE_FAMILIES = {i for i, f in enumerate(_FAMILIES)
                       if not f.startswith(("company", "share", "export", "output", "capacity", "body", "pilot", "tier"))}

_YEAR = re.compile(r"\b(?:19|20)\d\d\b")
# A year that names a document or a round rather than what is asked about: "the 2022 plan".
_DOC_YEAR = re.compile(r"(?:19|20)\d\d(?:'s)?\s+(?:[\w-]+\s+){0,4}?(?:plans?|polic(?:y|ies)|notices?|guidelines?|editions?|rounds?|"
                       r"issues?|regulations?|measures|documents?|lists?|drafts?|laws?|strateg(?:y|ies)|programs?|programmes?|"
                       r"pilots?|schemes?|initiatives?|calls?|blueprints?|action plans?|opinions?|selections?|batch(?:es)?|cycles?|competitions?)\b", re.I)
_FIGURE = re.compile(r"\b\d[\d,.]*\d\b|\b\d\b")
_NAME = re.compile(r"(?<=\s)[A-Z][\w'’&-]*(?:\s+[A-Z][\w'’&-]*)*")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")
_FOREIGN = {
    "German": set("der die das und ist sind nicht welche welcher welches wie wann warum für von mit den dem des ein eine "
                  "auf zu im bis zum zur wurde werden hat haben".split()),
    "French": set("le la les des du est sont quels quelles quel quelle pour dans une un avec par sur qui que "
                  "ont été au aux".split()),
    "Spanish": set("el los las del es son cuáles cuál qué para una con por sobre quién cuando cómo han de la en y "
                   "que se desde sido hay está están cuántos cuántas cuánto cuánta dónde cuándo".split()),
    "Portuguese": set("o os as do da dos das é são quais qual para uma com por sobre quem quando como em de "
                      "que foi foram quantos quantas onde".split()),
    "Italian": set("il lo gli le del della dei delle è sono quali quale per una con che di quando come "
                   "quanti quante dove".split()),
}


def read_question(question: str, spans: list[tuple[int, int]] = ()) -> Asked:
    """What `question` asks for. `spans`: character ranges already read as date phrases
    ("in November 2024"), whose years are a period, not a detail the answer must contain."""
    outside = "".join(" " if any(a <= i < b for a, b in spans) else ch for i, ch in enumerate(question))
    language = detect_language(question)
    main = _main_clause(question)
    slot = next((s for s, rx in _SLOTS if rx.search(main)), Slot.OTHER)
    if slot in _VALUES and _MANNER.match(main):
        slot = Slot.OTHER  # "How do the authors suggest firms gauge how much support ...": a way, not an amount
    # The attribute asked about, where the question names one the issues state in known words
    # ("net profit", "funding", "deadline"): a figure or date of another attribute is no answer.
    phrase = _focus_phrase(question) if slot in _MEASURED else ""
    attributes = [w for w in re.findall(r"[\w'-]+", f"{phrase} {outside}")
                  if _FAMILY_OF.get(_stem(w)) in _ATTRIBUTE_FAMILIES and _stem(w) not in _GENERIC] if slot in _MEASURED else []
    focus = tuple(dict.fromkeys(_stem(w) for w in attributes))
    focus_phrase = " or ".join(dict.fromkeys(w.lower() for w in attributes))
    acts = {m.start(1) for m in _ACT_YEAR.finditer(outside)}
    years = tuple(dict.fromkeys(m.group() for m in _YEAR.finditer(outside)
                                if not _DOC_YEAR.match(outside, m.start()) and m.start() not in acts))
    counted = ()
    if slot is Slot.COUNT and (m := re.search(r"\bhow many (?P<f>(?:[^\s?,.;]+ ){0,3}?[^\s?,.;]+?)(?= (?:is|are|was|were|do|does|did|will|would|has|have|had|can|could|should|in|of|for|to|by|on|at|from|with|per|under|so)\b|[?,.;]|$)", question, re.I)):
        counted = tuple(t for t in dict.fromkeys(tokenize(m["f"])) if t not in _GENERIC)
    figures = tuple(dict.fromkeys(f for f in _FIGURE.findall(outside) if not _YEAR.fullmatch(f)))
    return Asked(slot=slot, focus=focus, focus_phrase=focus_phrase if focus else "", years=years,
                 figures=figures, names=proper_names(outside), counted=counted, language=language,
                 chinese_title=slot is Slot.TITLE and bool(re.search(r"\bchinese (title|name)\b", question, re.I)),
                 place=_place_kind(question) if slot is Slot.PLACE else "",
                 deadline=slot is Slot.DATE and bool(_DEADLINE_ASKED.search(question)))


# Kinds of answer that are a value of something: the something must be what the passage gives.
_MEASURED = (Slot.MONEY, Slot.COUNT, Slot.DATE, Slot.SHARE, Slot.DURATION)
# Kinds a clause inside a "how do/does ..." question may name without being what is asked.
_VALUES = (*_MEASURED, Slot.PLACE)
_MANNER = re.compile(rf"^\s*how {_AUX}\b", re.I)
# A leading clause that sets the scene ("if I'm a foreign firm and want to know how much ..., what
# does MERICS say"): the question is what follows it.
_LEADING = re.compile(r"^\s*(?:if|given|assuming|since|as|for|while|after|before|once)\b[^?]*?,\s*"
                      rf"(?=(?:what|which|who|how|when|where|why|{_AUX})\b)", re.I)
# A year that says when something was done ("the projects picked in 2022"): when, not what it is for.
_ACT_YEAR = re.compile(r"\b(?:issued|released|published|picked|selected|announced|unveiled|launched|adopted|introduced|"
                       r"passed|approved|named|chosen|chose|signed|proposed|drafted|set up)\s+(?:\w+\s+){0,3}?in\s+((?:19|20)\d\d)\b", re.I)


def _main_clause(question: str) -> str:
    m = _LEADING.match(question)
    return question[m.end():] if m else question
_DEADLINE_ASKED = re.compile(r"\bdeadlines?\b|\bdue (date|by)\b|"
                             r"\b(submit|send|give|provide|file|hand) (in )?(\w+ ){0,2}(feedback|comments|opinions|applications|submissions)\b|"
                             r"\b(comments?|feedback|consultation|applications?) (period |window )?(close|closes|closed|end|ends|ended)\b|"
                             # "by what date do local governments have to report": a date set as a limit
                             r"(^\s*(by|until) (what|which|when)\b|\b(by|until) when\b).*\b(have to|has to|must|required to|need to)\b", re.I)


def _stem(word: str) -> str:
    stems = tokenize(word)
    return stems[0] if stems else ""


def _place_kind(question: str) -> str:
    m = re.search(r"\b(city|cities|province|provinces|region|regions|country|countries)\b", question, re.I)
    return m.group(1).lower() if m else ""


def _focus_phrase(question: str) -> str:
    for rx in _FOCUS:
        m = rx.search(question)
        if m:
            return " ".join(w for w in m["f"].split() if w.lower() not in STOPWORDS)
    return ""


# Capitalised words that describe rather than name (a nationality, a language).
_DESCRIBING = frozenset("""i i'm i’m i've i'd i'll english chinese european american german french japanese korean indian british asian
western eastern foreign global national international russian italian dutch swiss taiwanese""".split())


def proper_names(text: str) -> tuple[str, ...]:
    """Capitalised words and acronyms that do not start a sentence; months, question words,
    nationalities and languages excluded."""
    out = []
    text = re.sub(r"['’]s\b", " ,", text)
    text = re.sub(r"(^|[.:;?!]\s+|[-–—]\s+)[A-Z][a-z]\w*", " ,", text)  # sentence-initial capitals
    for m in re.finditer(r"\b(?=[\w-]*\d)(?=[\w-]*[A-Za-z])[\w]+(?:-[\w]+)*\b", text):  # 6G, A320, GR-1
        ident = m.group()
        if "-" in ident and not re.search(r"\d", ident.split("-")[-1]) and not ident.split("-")[-1].isupper():
            ident = ident.rsplit("-", 1)[0]  # "5G-based" -> "5G"
        if not re.fullmatch(r"(?:(?:early|mid|late)-)?\d+(?:st|nd|rd|th|s|k|m|bn)?", ident, re.I):  # not "mid-2030s", "5th", "10k"
            out.append(ident)
    for m in _NAME.finditer(" " + text):
        name = m.group().strip().rstrip("'’")
        kept = [w for w in name.split() if w.lower() not in STOPWORDS and not re.fullmatch(MONTH_RE, w, re.I)
                and w.lower().split("-")[0] not in _DESCRIBING]
        if kept:
            out.append(" ".join(kept))
    return tuple(dict.fromkeys(out))


def detect_language(text: str) -> str:
    """"en", or the name of the language the question is evidently written in."""
    letters = [ch for ch in text if ch.isalpha()]
    if letters and sum(bool(_CJK.match(ch)) for ch in letters) / len(letters) > 0.3:
        return "Chinese, Japanese or Korean"
    ws = [w.lower() for w in re.findall(r"[^\W\d_]+", text)]
    if len(ws) < 3:
        return "en"
    english = sum(w in STOPWORDS for w in ws)
    hits, name = max((sum(w in vocab for w in ws), name) for name, vocab in _FOREIGN.items())
    return name if hits >= max(2, english + 1) else "en"


def supported(stem: str, tokens: set[str]) -> bool:
    """`stem` (a question's word) is said by text with these tokens: the word, or its family."""
    if stem in tokens:
        return True
    family = _FAMILY_OF.get(stem)
    return family is not None and any(_FAMILY_OF.get(t) == family for t in tokens)


# What an answer of each kind contains.
_NUMBER = (r"(?<![\w-])(?!(?:19|20)\d\d\b)\d[\d,.]*(?![\w-])|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|"
           r"eleven|twelve|twenty|thirty|forty|fifty|hundreds?|thousands?|millions?|billions?|dozens?|several|half)\b")
_EVIDENCE = {
    Slot.DATE: re.compile(rf"\b{MONTH_RE}\.?\s+\d|\b\d{{1,2}}\s+{MONTH_RE}\b|\b(?:19|20)\d\d\b|\b(?:until|by|before|from) (?:the )?(?:end|middle|beginning)\b", re.I),
    Slot.MONEY: re.compile(r"\b(?:CNY|RMB|USD|EUR|US\$|yuan|dollars?|euros?)\b|[$€¥]\s?\d|\b\d[\d,.]*\s*(?:billion|million|trillion|bn)\b", re.I),
    Slot.COUNT: re.compile(_NUMBER, re.I),
    Slot.DURATION: re.compile(rf"(?:{_NUMBER})[\s-]+(?:years?|months?|weeks?|days?|hours?)\b|\buntil\b|\bthrough\b|\bvalid (?:for|until)\b", re.I),
    Slot.SHARE: re.compile(r"\d\s*(?:%|percent|per cent)|\b(?:in|as a) (?:percent|per cent|share)\b|\b(?:half|third|quarter|majority|fifth|tenth)s?\b|\bpercentage\b", re.I),
    # A source line, a cited report "(Reuters article)", or "according to" / "data from".
    Slot.SOURCE: re.compile(r"\bsources?\s*:|\([^()]*\b(?:article|report|notice|data|statistics|survey|release|website|statement|"
                            r"announcement|guidelines|post|filing|database)\)|\baccording to\b|\bdata (?:from|by)\b|\bcompiled by\b|"
                            r"\breported by\b|\b(?:Reuters|Bloomberg|Xinhua|Caixin|Yicai)\b|"
                            # a news item ends with its outlet: "(SCMP)", "(South China Morning Post)"
                            r"\((?-i:[A-Z][\w&.'’-]*)(?: [\w&.'’-]+){0,5}\)\s*$", re.I),
}
# A deadline is a day ("until October 20, 2026") or a span ("within 24 hours"); "by 2027" is a target year.
_DEADLINE = re.compile(rf"\b(?:until|by|before|no later than|deadline|due|through)\b[^.;]{{0,30}}?"
                       rf"(?:\b{MONTH_RE}\.?\s+\d|\b\d{{1,2}}\s+{MONTH_RE}\b)|"
                       rf"\bwithin\s+(?:{_NUMBER})\s+(?:working\s+|calendar\s+)?(?:hours?|days?|weeks?|months?)\b", re.I)
_BODY_WORD = re.compile(r"\b(?:Ministry|Ministries|Commission|Administration|Council|Bureau|Office|Agency|Department|"
                        r"Committee|Bank|Academy|Government|Congress|Court|Procuratorate)\b")
# Acronyms of bodies that issue policy (not companies).
BODIES = frozenset("""MIIT NDRC MOF MOFCOM SAMR CAC MOST MOT MEE NEA SASAC CNIPA MOHRSS NDB PBOC CSRC NBS NHC MOE MPS
CAAC NMPA SPC NPC CPC CCP SAFE CBIRC NFRA MNR MWR MARA STA GAC SCIO CAICT CAS CAE EU UN WTO OECD""".split())
_PROVINCES = frozenset("""beijing shanghai tianjin chongqing hebei shanxi liaoning jilin heilongjiang jiangsu zhejiang
anhui fujian jiangxi shandong henan hubei hunan guangdong hainan sichuan guizhou yunnan shaanxi gansu qinghai taiwan
mongolia guangxi tibet ningxia xinjiang hong kong macau macao""".split())
_CITIES = frozenset("""beijing shanghai tianjin chongqing shenzhen guangzhou wuhan chengdu hangzhou nanjing suzhou xiamen
xi'an xian qingdao dalian shenyang harbin changsha zhengzhou hefei jinan fuzhou kunming ningbo wuxi dongguan foshan
huadu fuling hong kong macau""".split())
_COUNTRIES = frozenset("""germany france italy japan korea india russia brazil thailand vietnam indonesia malaysia singapore
uk britain usa us mexico hungary spain poland netherlands sweden australia canada turkey serbia egypt""".split())
_REGIONS = frozenset("europe america asia africa".split())
_PLACES = _PROVINCES | _CITIES | _COUNTRIES | _REGIONS
# What "which city / province / country" accepts as an answer ("where" accepts any place).
_PLACE_KINDS = {"city": _CITIES, "cities": _CITIES, "province": _PROVINCES | _CITIES,
                "provinces": _PROVINCES | _CITIES, "region": _PROVINCES | _REGIONS, "regions": _PROVINCES | _REGIONS,
                "country": _COUNTRIES, "countries": _COUNTRIES}
# A capitalised word that is a name: not the first word of a sentence, unless an acronym, one
# of several capitalised words, or set off by a comma ("Gallup, the polling group, ...").
_TITLES = frozenset("dr mr mrs ms prof president premier minister director chairman ceo".split())
_CAPITAL = re.compile(r"(?<![.;?!]\s)(?<!^)\b[A-Z][\w&'’-]*|\b[A-Z][A-Z0-9]+\b|\b[A-Z][\w&'’-]*(?=,|\s+[A-Z])")


_JOINING = frozenset("and of the for to in on".split())


def spelled_out(acronym: str, text: str) -> list[str]:
    """The words of `text` an acronym stands for ("SAMR" -> State Administration for Market
    Regulation; "SMEs" -> small and medium-sized enterprises), or [] when the text has none."""
    letters = acronym.rstrip("s")
    if not (2 <= len(letters) <= 6 and letters.isupper() and letters.isalpha()):
        return []
    # Hyphenated words count as one ("medium-sized") or as their parts ("antibody-drug conjugate": ADC).
    for split in (False, True):
        ws, content, initials = _initials(text, split)
        at = initials.find(letters)
        if at >= 0:
            return list(ws[content[at]:content[at + len(letters) - 1] + 1])
    return []


@functools.lru_cache(maxsize=512)
def _initials(text: str, split: bool) -> tuple[tuple[str, ...], tuple[int, ...], str]:
    """A text's words, the positions of those that are not joining words, and their initials
    (upper case), read once per text: a passage is checked for every acronym of every question."""
    ws = tuple(re.findall(r"[A-Za-z]+" if split else r"[A-Za-z][A-Za-z-]*", text))
    content = tuple(i for i, w in enumerate(ws) if w.lower() not in _JOINING)
    return ws, content, "".join(ws[i][0] for i in content).upper()


def abbreviated(name: str, text: str) -> bool:
    """A name the text gives in its other form: an acronym spelt out ("EV" for "electric
    vehicles"), or a spelt-out name by its acronym ("Data Security Law" as "DSL")."""
    initials = "".join(w[0] for w in re.findall(r"[A-Za-z]+", name) if w.lower() not in _JOINING).upper()
    if len(initials) >= 2 and " " in name.strip() and re.search(rf"\b{initials}s?\b", text):
        return True
    return bool(spelled_out(name, text))


# The forms a place is named by in the issues: its name, adjective, capital or seat of government
# ("Washington's export controls" are the US's). A question naming one is answered by any.
_NAME_FORMS = [frozenset(g.split("|")) for g in (
    "us|u.s.|usa|united states|america|american|americans|washington",
    "uk|britain|great britain|british|united kingdom|london",
    "eu|european union|brussels|european commission",
    "japan|japanese|tokyo", "germany|german|berlin", "france|french|paris", "korea|south korea|korean|seoul",
    "thailand|thai", "vietnam|vietnamese|hanoi", "taiwan|taiwanese|taipei", "india|indian|new delhi",
    "hungary|hungarian|budapest", "indonesia|indonesian|jakarta", "mexico|mexican", "netherlands|dutch|the hague",
    "russia|russian|moscow", "italy|italian|rome", "spain|spanish|madrid", "brazil|brazilian")]


def name_forms(name: str) -> tuple[str, ...]:
    """`name` and the other forms the issues may give it in ("US": "Washington", "American", ...)."""
    group = next((g for g in _NAME_FORMS if name.lower() in g), None)
    if group:
        return (name, *sorted(group - {name.lower()}))
    return (name, f"{name}s") if name.isupper() and name.isalpha() else (name,)  # "SME" is said as "SMEs"


def has_evidence(asks: Asked, text: str) -> bool | None:
    """Whether `text` contains an answer of the kind asked; None when the kind has no test.
    Names the question itself states are not an answer ("Besides SAMR, who..."), and where it
    says, only a place of the kind asked ("which city") is."""
    slot, given, place = asks.slot, asks.names, asks.place
    if asks.deadline:
        return bool(_DEADLINE.search(text))
    rx = _EVIDENCE.get(slot)
    if rx:
        return bool(rx.search(text))
    if slot not in (Slot.BODY, Slot.COMPANY, Slot.PLACE):
        return None
    said = {w.lower() for n in given for w in re.findall(r"[\w'-]+", n) + spelled_out(n, text)}
    names = [m.group().rstrip("'’").removesuffix("'s").removesuffix("’s") for m in _CAPITAL.finditer(text)]
    names = [n for n in names if n.lower() not in said and n.lower() not in STOPWORDS and n.lower() not in _TITLES
             and not re.fullmatch(MONTH_RE, n, re.I) and n.lower() != "china"]
    if slot is Slot.PLACE:
        return any(n.lower() in _PLACE_KINDS.get(place, _PLACES) for n in names)
    if slot is Slot.BODY:
        return any(n in BODIES or _BODY_WORD.match(n) for n in names)
    return any(n not in BODIES and not _BODY_WORD.match(n) and n.lower() not in _PLACES
               and n.lower().split("-")[0] not in _DESCRIBING for n in names)


def known_words(text: str) -> set[str]:
    """Plain lower-case words of a text (for names, which are not stemmed away)."""
    return set(words(text))
