"""What a question asks for (qa.asks): exact values on single questions, no model, no index."""

from __future__ import annotations

import pytest

from qa.asks import Asked, Slot, detect_language, has_evidence, read_question, supported
from qa.lexical import tokenize


@pytest.mark.parametrize("question, slot", [
    ("When is the deadline for submitting comments on the draft?", Slot.DATE),
    ("When do Shenzhen's AI industry rules take effect?", Slot.DATE),
    ("When Beijing talks about new-type storage, what is left out?", Slot.OTHER),
    ("What was CATL's net profit in 2023?", Slot.MONEY),
    ("How much central government funding has MIIT allocated?", Slot.MONEY),
    ("What did BYD pay Mercedes-Benz for the remaining 10 percent of Denza?", Slot.MONEY),
    ("Which kinds of companies are most at risk under the penalty regime?", Slot.OTHER),
    ("How many firms were selected in the 2024 round?", Slot.COUNT),
    ("By how much did energy use per unit fall?", Slot.COUNT),
    ("What share of orders did China win?", Slot.SHARE),
    ("Who issued the smart factory notice?", Slot.BODY),
    ("Besides SAMR, which three ministries issued the notice?", Slot.BODY),
    ("Which European chipmaker teamed up with a Chinese foundry?", Slot.COMPANY),
    ("what should european firms watch out for", Slot.OTHER),
    ("In which Chinese city will Airbus open its second line?", Slot.PLACE),
    ("What is the official English title of the document?", Slot.TITLE),
    ("Which state media outlet reported the gain?", Slot.SOURCE),
    ("Does the draft define core data?", Slot.YESNO),
    ("Once a company is named, does it keep the title for good?", Slot.YESNO),
    ("Why is China launching the pilot?", Slot.REASON),
    ("What are the new energy storage targets for 2027?", Slot.LIST),
])
def test_the_kind_of_answer_asked(question, slot):
    assert read_question(question).slot is slot


def test_years_asked_about_are_details_but_a_year_naming_a_document_is_not():
    assert read_question("What is the 2030 target for storage companies?").years == ("2030",)
    assert read_question("What was the output of Shanghai's AI industry in 2022?").years == ("2022",)
    assert read_question("Which materials are named in the 2022 basic industrial materials plan?").years == ()
    assert read_question("a cap on firms in the 2024 champion selection").years == ()
    # A date phrase already read as a period is not a detail: its span is passed in.
    q = "What did BYD announce in September 2022?"
    assert read_question(q, [(q.index("September"), len(q) - 1)]).years == ()


def test_names_are_proper_names_and_identifiers_not_sentence_starts_or_nationalities():
    assert read_question("Compare Shanghai's 2022 plan with the national pilot").names == ("Shanghai",)
    assert read_question("Beyond handing out titles, what is Beijing trying to get?").names == ("Beijing",)
    assert read_question("what is the MIIT champions notice called in English").names == ("MIIT",)
    assert read_question("IBM China R&D shutdown - how many jobs affected").names == ("IBM China R&D",)
    assert read_question("what is the target number of 6G base stations").names == ("6G",)
    assert read_question("the push behind China's 5G-based factories").names == ("5G", "China")


def test_the_attribute_asked_about_when_the_issues_name_it_in_known_words():
    asked = read_question("What was CATL's net profit in 2023?")
    assert asked.focus == tuple(tokenize("profit")) and asked.focus_phrase == "profit"
    assert read_question("How many world-class players does the ministry want?").focus == ()
    assert read_question("How many 5G+industrial internet pilot zones does MIIT plan to approve?").counted == \
        tuple(tokenize("5G+industrial internet pilot zones"))[:4]


def test_languages():
    assert detect_language("What are the new energy storage targets for 2027?") == "en"
    assert detect_language("2027年新型储能制造业的主要发展目标有哪些？") != "en"
    assert detect_language("Quels sont les objectifs pour 2027 des lignes directrices du MIIT ?") == "French"
    assert detect_language("Wie hoch sind die Strafen im Entwurf der Richtlinie?") == "German"
    assert detect_language("MIIT 2027 targets") == "en"
    assert detect_language("¿Cuántas empresas han sido nombradas campeonas de la manufactura en China desde 2016?") == "Spanish"
    assert detect_language("Quantas empresas foram escolhidas como campeãs em 2024?") == "Portuguese"
    assert detect_language("Is the plan in line with the EU's Net-Zero Industry Act?") == "en"


def test_evidence_of_each_kind_of_answer():
    assert has_evidence(Asked(Slot.COUNT), "its GR-1 robot has entered mass-production in 2023") is False
    assert has_evidence(Asked(Slot.COUNT), "with 318,900 5G base stations") is True
    assert has_evidence(Asked(Slot.MONEY), "companies worth CNY 100 billion") is True
    assert has_evidence(Asked(Slot.MONEY), "selling its remaining 10 percent stake") is False
    assert has_evidence(Asked(Slot.DATE), "Date: November 6, 2024") is True
    assert has_evidence(Asked(Slot.BODY, names=("SAMR",)), "Issuing body: SAMR") is False
    assert has_evidence(Asked(Slot.BODY), "Issuing body: MIIT etc.") is True
    assert has_evidence(Asked(Slot.PLACE, names=("Airbus", "A320")), "a second A320 assembly line in China by 2026") is False
    assert has_evidence(Asked(Slot.COMPANY), "Gallup, the polling group, is pulling out of China") is True
    assert has_evidence(Asked(Slot.COMPANY), "Leading research institutes as well as telecom companies") is False
    assert has_evidence(Asked(Slot.SOURCE), "sold out within seconds of its launch (Yicai article)") is True
    assert has_evidence(Asked(Slot.LIST), "anything") is None


def test_what_a_question_asks_is_read_from_its_main_clause():
    assert read_question("What maximum fine would the draft impose on companies?").slot is Slot.MONEY
    assert read_question("What is the contract value of the supply deal?").slot is Slot.MONEY
    assert read_question("What price did Mercedes get for its stake?").slot is Slot.MONEY
    # an amount inside a "how do ..." question is not what it asks
    assert read_question("How do the authors suggest firms gauge how much support rivals get?").slot is Slot.OTHER
    # "where does MERICS think" asks where in an argument, not on a map
    assert read_question("Where does MERICS think China is falling short?").slot is Slot.OTHER
    assert read_question("Where is China still struggling to match its 5G success?").slot is Slot.OTHER
    assert read_question("Where will the new plant be built?").slot is Slot.PLACE


def test_the_main_clause_and_the_words_that_only_set_the_scene():
    # a leading "if ..." clause is scene-setting; the question is what follows it
    asked = read_question("if I'm a foreign firm and want to know how much state backing my rival has, "
                          "what does MERICS say to look at?")
    assert asked.slot is Slot.OTHER and "I'm" not in asked.names
    # a year saying when something was done is not a year the answer must state
    assert read_question("of the 18 pilot projects the ministry picked in 2022, how many were about ships?").years == ()
    assert read_question("What is the plan's target for 2030?").years == ("2030",)
    # "foreign investment" is a topic, "worth" asks for the amount itself, "yuan" is said as CNY
    assert read_question("what did NDRC's 2024 foreign investment negative list do for manufacturing?").slot is not Slot.MONEY
    assert read_question("how much was China's industrial internet market worth in 2022?").focus == ()
    assert supported(tokenize("yuan")[0], set(tokenize("companies worth CNY 100 billion")))


def test_more_ways_a_text_gives_what_is_asked():
    from qa.asks import spelled_out
    assert spelled_out("ADC", "licensed an antibody-drug conjugate from") == ["antibody", "drug", "conjugate"]
    assert spelled_out("SMEs", "small and medium-sized enterprises") == ["small", "and", "medium-sized", "enterprises"]
    asked = read_question("drone incident reporting deadline")
    assert asked.deadline and has_evidence(asked, "report serious incidents to the CAAC within 24 hours")
    assert not has_evidence(asked, "report serious incidents to the CAAC")
    assert supported(tokenize("deadline")[0], set(tokenize("report within 24 hours")))
    share = read_question("What share of gallium refining does China account for?")
    assert has_evidence(share, "Gallium: 98 Share of global refined output of selected minerals, in percent")
    assert not has_evidence(share, "Gallium: 98 Global refined output of selected minerals, in tonnes")


def test_how_much_of_a_payment_asks_for_money():
    assert read_question("How much capacity compensation per kilowatt will the pilots be paid?").slot is Slot.MONEY
    assert read_question("How much support does the plan promise?").slot is Slot.MONEY


def test_who_published_a_policy_asks_for_a_body():
    assert read_question("Who put out the guidance on helping offshore wind gear go abroad?").slot is Slot.BODY
    assert read_question("Who actually issued it?").slot is Slot.BODY
    # launching a product is what companies do
    assert read_question("Who launched the first triple-screen phone?").slot is not Slot.BODY


def test_a_deadline_is_a_date_after_until_or_by():
    asked = read_question("By what date do companies have to send in feedback on the draft?")
    assert asked.slot is Slot.DATE and asked.deadline
    assert not read_question("When was the draft released?").deadline
    assert not read_question("by when does the Shanghai AI regulation take effect?").deadline  # an effective date
    assert read_question("By what date do local governments have to report back?").deadline
    assert has_evidence(asked, "Date: November 6, 2024") is False  # the policy's own date
    assert has_evidence(asked, "Comments can be submitted until March 20, 2025.") is True
    assert has_evidence(asked, "feedback is due by 6 December") is True
    assert has_evidence(read_question("When was it released?"), "Date: November 6, 2024") is True
    assert has_evidence(read_question("By what year should robots be integrated?"), "By 2027, policymakers aspire") is True


def test_evidence_of_a_duration_or_an_outlet():
    assert has_evidence(Asked(Slot.DURATION), "for at least 150 hours near Qingdao") is True
    assert has_evidence(Asked(Slot.SOURCE), "470 robots per 10,000 employees in 2023. (SCMP)") is True
    assert has_evidence(Asked(Slot.SOURCE), "robots (in 2023) were installed") is False


def test_a_word_is_supported_by_itself_or_its_family():
    tokens = set(tokenize("The MIIT will invest in clusters; companies worth CNY 100 billion"))
    assert supported(tokenize("funding")[0], tokens)      # invest ~ funding
    assert supported(tokenize("firms")[0], tokens)        # companies ~ firms
    assert not supported(tokenize("profit")[0], tokens)   # revenue or worth is not profit


def test_acronyms_and_what_they_stand_for():
    from qa.asks import abbreviated, spelled_out
    text = "The State Administration for Market Regulation (SAMR) and three other ministries announced a pilot"
    assert spelled_out("SAMR", text) == ["State", "Administration", "for", "Market", "Regulation"]
    assert has_evidence(Asked(Slot.BODY, names=("SAMR",)), text) is False  # SAMR spelt out is still SAMR
    assert abbreviated("EV", "the purchase tax on electric vehicles")
    assert abbreviated("SMEs", "small and medium-sized enterprises")
    assert abbreviated("Data Security Law", "as already outlined in the DSL")
    assert not abbreviated("EV", "energy storage targets for 2027")


def test_a_yes_no_question_with_another_year_is_answered_with_a_caveat():
    from types import SimpleNamespace as NS
    from qa.verdict import _caveats
    asked = read_question("Is it true that China wants 6G services in ten cities already by 2027?")
    unit = NS(text="- Launch pre-commercial 6G services in at least ten cities", lead="Targets for 2030 include:")
    hit = NS(chunk=NS(part_label="At a glance", section_heading="2. China draws up a 6G roadmap", part_kind="at_a_glance",
                      issue_date="2026-04-01"))
    snap = NS(issues={})  # no title block to read
    assert _caveats(asked, unit, hit, snap) == \
        ("The quoted passage does not state 2027: compare what it gives with the question.",)
    assert _caveats(read_question("What are the 6G targets for 2027?"), unit, hit, snap) == ()  # a near miss, judged elsewhere


def test_questions_about_a_chart_and_terse_ones_about_issuers():
    assert read_question("What was the chart in the June 2026 hydrogen truck piece called?").slot is Slot.TITLE
    assert read_question("mara drone draft issuers").slot is Slot.BODY


def test_a_price_is_what_a_deal_went_for_and_a_subsidy_scheme_is_no_amount():
    from qa.verdict import _priced
    asked = read_question("and how much did that cost them?")
    assert asked.slot is Slot.MONEY
    assert _priced(asked, "BioNTech is purchasing the Chinese company Biotheus for USD 800 million.")
    assert not _priced(asked, "BioNTech's revenue reached USD 800 million.")
    assert read_question("What could undermine the Jiangsu biotech subsidy scheme?").slot is not Slot.MONEY
    assert read_question("What was the subsidy per vehicle?").slot is Slot.MONEY


def test_a_deadline_is_a_day_or_a_span_not_a_target_year():
    asked = read_question("What's the deadline for feedback on the low-altitude equipment draft?")
    assert has_evidence(asked, "The plan is open for public comment until October 20, 2026.")
    assert not has_evidence(asked, "By 2027, build 15 to 20 pilot projects")
    from qa.asks import name_forms
    assert "SMEs" in name_forms("SME")  # an acronym is said in the plural too

