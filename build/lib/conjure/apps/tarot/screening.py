"""What the question filter refuses, and the kind pointer each refusal gives (English and Thai).

Pattern rules, checked in order of urgency: self-harm, harm to others, illegal acts,
then medical, legal and financial decisions that need a professional, then abuse.
Everyday figures of speech that borrow violent words ("kill it at my interview",
"my back hurts", "ฆ่าเวลา", "ยิงแอด") are removed before matching, and the softer
verbs (hurt, harm, scam) count only with an intent ("how can I…", "I want to…"),
so a worried question ("will I hurt him if I leave?") is still read.
The labelled set in ``tests/tarot/data/filter_questions.jsonl`` measures these rules.
"""

from __future__ import annotations

import re

RefusalKind = str  # one of REFUSALS' keys


def _rule(english: list[str], thai: list[str]) -> re.Pattern[str]:
    """English alternatives between word boundaries, Thai ones as they are (Thai has no spaces)."""
    return re.compile(r"\b(?:" + "|".join(english) + r")\b|" + "|".join(thai), re.IGNORECASE)


# Figures of speech that use a harmful word harmlessly; blanked before the rules run.
BENIGN_IDIOMS = _rule(
    [
        r"kill(ing|ed)? (it|time|the (game|vibe|mood|interview|competition|presentation))",
        r"killer (app|idea|look)",
        r"dying (to|for|of)|to death|die (of|from) (embarrassment|laughter|boredom)",
        r"shoot (my|your|his|her|our|their) shot|shot at|take a shot|give it a shot",
        r"steal(s|ing)? (the (show|spotlight)|(his|her|their|my|your|someone'?s) heart|a (kiss|glance|look))",
        r"stole (my|his|her|their) heart|break a leg|knock (them|'em|him|her) dead",
        r"lump in (my|his|her|the) throat|murder mystery|hack(ed|ing)? (together|it)|life ?hacks?",
        r"hit (him|her|them|\w+) up|from harm|harm done|the hurt|feeling hurt|hurt less|hurt me again",
        r"revenge body|steal (a moment|some time|time|away)|shoot for the stars",
        r"(a |my |the )?cancer (sign|zodiac|man|woman|guy|girl|boyfriend|girlfriend|partner|moon|sun|rising)",
        r"shoot (him|her|them|\w+) (a|an) (text|message|email|dm|line)",
        r"(am|was|be|being|is|are|were|been|get|got|getting) "
        r"(scammed|hurt|attacked|robbed|stolen from|poisoned)",
        r"hurt(s|ing)? (my|his|her|their|our|your) (feelings|chances|career|pride|ego|back|head|knee|heart)",
        r"(it|this|that|he|she|they|which) (hurts?|hurt me|harms?)|hurt(s|ing)? so much",
    ],
    [
        "ฆ่าความ|ฆ่าเวลา|ฆ่าเชื้อ|ฆ่ายุง|ฆ่าแมลง|ยิงแอด|ยิงโฆษณา|ยิงมุก|ตบมุก|ตบเท้า|แทงหวย|ขโมยใจ|ขโมยซีน",
        "ถูกหลอก|โดนหลอก|ถูกฆ่า|โดนฆ่า|ถูกขโมย|โดนขโมย|ถูกปล้น|โดนปล้น|ถูกโกง|โดนโกง|ถูกทำร้าย|โดนทำร้าย",
        "ไลฟ์แฮก|ทำร้ายจิตใจ|ให้ตายเถอะ|หิวจะตาย|เหนื่อยจะตาย|ขำจะตาย|ร้อนจะตาย",
    ],
)

SELF_HARM = _rule(
    [
        r"kill(ing)? myself|kms|unalive (myself|me)|suicid\w*|end(ing|ed)? (my (own )?life|it all)",
        r"self[- ]?harm\w*|(hurt|harm|cut|cutting|starve|starving|burn) myself|want(ed)? to die|wanna die",
        r"better off dead|(don'?t|do not|no longer) want to (live|be alive|wake up|exist)|no reason to live",
        r"overdose|take all (my|the) pills|(take|swallow) (a|the) whole (bottle|pack)",
        r"jump(ing)? off (a|the|this|that) (bridge|building|roof|cliff)|(take|taking|took) my (own )?life",
        r"(slit|slitting|cut|cutting) my wrists?|hang(ing)? myself|sleep forever and never wake",
        r"(if|when) i (was|were|am) (gone|dead)|if i (died|disappeared|killed myself)",
        r"nobody would (care|miss me)|end(ing)? (things|everything)( for good)?",
        r"stop(ped|ping)? eating (completely|altogether|entirely|for good)",
        r"(how many|too many) (sleeping )?(pills|tablets)|sleeping pills",
        r"(no|any|the) point (in|of) (living|life|being alive|going on)|reason to (live|be alive|go on)",
        r"tired of (living|being alive|life)|(don'?t|do not) want to be here anymore",
        r"wish i (was|were) (dead|never born)",
        r"disappear forever|never wake up|want(ed)? to disappear",
    ],
    [
        "ฆ่าตัวตาย|อยากตาย|ทำร้ายตัวเอง|จบชีวิต|ไม่อยากมีชีวิต|ไม่อยากอยู่แล้ว|อยากหายไปจากโลก",
        "หลับ(ไปเลย)?ไม่ตื่น|ไม่ต้องตื่นอีก|กรีดข้อมือ|กรีดแขน|กินยาตาย|กินยาเกินขนาด|กินยา.{0,15}(หมดขวด|หมดแผง|ทีเดียวหมด|ให้ตาย)",
        "ไม่ต้องตื่น(ขึ้นมา)?อีก|อยากหายไป|หายไปตลอดกาล|เบื่อที่จะมีชีวิต|ไม่อยากเกิดมา|ไม่อยากหายใจ",
        "ผูกคอ|โดดตึก|กระโดดตึก|จบทุกอย่าง|ไม่อยากอยู่|ไม่อยากตื่น|ยานอนหลับ|ไม่มีใครสนใจถ้าฉันตาย",
    ],
)

_PERSON = (
    r"(him|her|them|someone|somebody|anyone|everyone|people|a (person|man|woman|kid|child)|"
    r"(my|his|her|their|the|this|that|our|\w+'s) (\w+(?:'s)? )?"
    r"(boss|wife|husband|ex|neighbou?r|mother|mom|mum|father|dad|brother|sister|friend|partner|boyfriend|"
    r"girlfriend|teacher|co-?worker|colleague|classmate|roommate|landlord|child|kid|son|daughter|family|"
    r"rival|enemy|guy|girl|man|woman|person|baby|cat|dog|stepmother|stepfather|manager|ceo|mistress|lover|"
    r"in-laws?))"
)
_TH_PERSON = "(เขา|เธอ|มัน|คน|แฟน(เก่า)?|ผัว|เมีย|ชู้|เมียน้อย|พ่อ|แม่|ลูก|เพื่อน(บ้าน|ร่วมงาน)?|หัวหน้า|เจ้านาย|ศัตรู|คนนั้น|ใคร)"
_INTENT = (
    r"(how (can|do|could|should|would|might|to) (i|we|one|you)?|how to|ways? to|best way to|easiest way to|"
    r"(i|we) (want|need|plan|intend|have) to|i'?m (going|planning) to|i'?m gonna|i wanna|i will|i'?ll|"
    r"should i|can i|help me|teach me|tell me how to)"
)
# A harm verb right after these is a worry, not an intent ("how can I leave without hurting him").
_NOT = r"(?<!not to )(?<!without )(?<!stop )(?<!avoid )(?<!never )(?<!n't )"
_HARD_VIOLENCE = (
    r"(kill|murder|poison|stab|shoot|strangle|choke|kidnap|torture|rape|assault|beat up|run over|drown|"
    r"hit|punch|slap|attack|drug)"
)
HARM_OTHERS = _rule(
    [
        rf"{_HARD_VIOLENCE}(s|ed|ing)? {_PERSON}",
        rf"{_INTENT}\b.{{0,40}}{_NOT}\b(hurt|harm|injure|beat up|beat)\b.{{0,12}}\b{_PERSON}",
        rf"{_INTENT}\b.{{0,40}}\b(ruin|destroy|sabotage|wreck) (his|her|their|my \w+'s|someone'?s) "
        r"(life|career|marriage|relationship|reputation|business|car|wedding|party|birthday|day|chances)",
        r"hide (the|his|her|a|my) (knife|body|gun|weapon|evidence)|use it on (him|her|them)|with threats",
        rf"(push|shove|trip)\w* {_PERSON} (down|off|into|in front)",
        rf"make {_PERSON} (disappear|vanish|bleed)",
        rf"{_INTENT}\b.{{0,40}}\bmake {_PERSON} (sick|ill|cry)",
        rf"(chemicals?|laxatives?|poison\w*|pills?|bleach)\b.{{0,40}}\bmake {_PERSON} (sick|ill)",
        rf"get {_PERSON} (fired|sacked|arrested|expelled|deported)|fram(e|ing) {_PERSON}",
        r"plant(ing)? (stolen|drugs)|make (my |his |her |their )?(\w+'s )?life (a living )?(hell|miserable)",
        r"break (someone|somebody|his|her|their|my \w+)('s)? (arm|leg|nose|jaw|bones|neck|fingers)",
        r"put (something|stuff|pills|it) in (his|her|their|my \w+'s|someone'?s) "
        r"(food|drink|coffee|tea|water)",
        r"(follow|track|watch|read|check|go through|look through)\w* .{0,30}"
        r"without (him|her|them|my \w+) (noticing|knowing|finding out)",
        rf"{_INTENT}\b.{{0,20}}\bspy on {_PERSON}|track (his|her|their|my \w+'s) (phone|location)",
        r"follow (him|her|them|my \w+) (home|around|everywhere)",
        rf"{_INTENT}\b.{{0,40}}\b(threaten|intimidate|scare|frighten|terrori[sz]e) {_PERSON}",
        rf"make {_PERSON} (suffer|pay|hurt|bleed)",
        r"(make|build|making|building) (a |an )?(bomb|explosive|weapon)",
        r"(drug|spike) (my |his |her |their |a |someone'?s )?(\w+'s )?(drink|food|coffee|tea)",
        r"revenge|get back at|get even with|curse (him|her|them|my)|hex (him|her|them)",
        rf"(punish|humiliate|teach) {_PERSON}( a lesson)?|{_INTENT}\b.{{0,30}}\b(punish|humiliate) {_PERSON}",
        rf"stalk\w* {_PERSON}|{_INTENT}\b.{{0,30}}\bstalk",
        r"untraceable|undetectable|(best|which|what|strongest) poison|poison (that|which|to)",
        rf"make {_PERSON} (disappear|vanish)",
        r"(slash|slashing|puncture|puncturing) .{0,25}(tyres|tires)|key (his|her|their|my \w+'s) car",
        r"(burn|torch)(ing)? (down )?(his|her|their|my \w+'s|someone'?s) (house|home|car|shop)",
        r"get away with (it|murder|hurting|killing|beating|harming)",
        r"without (leaving (any )?evidence|a trace)",
    ],
    [
        "ฆ่า(?!ตัวตาย)|ทำร้าย(เขา|เธอ|มัน|คน|แฟน|ผัว|เมีย|พ่อ|แม่|ลูก|เพื่อน|หัวหน้า|เจ้านาย|ใคร|ศัตรู)",
        "วางยา|ยาพิษ|แก้แค้น|เอาคืน|ทำของใส่|ทำคุณไสย|ไสยศาสตร์ใส่|สาปแช่ง",
        f"ให้{_TH_PERSON}\\S{{0,6}}?(เจ็บ|ตาย|ทรมาน|พัง|ฉิบหาย)|(ยิง|แทง|ต่อย|ตบ|กระทืบ|ซ้อม|ทุบ)(หน้า)?{_TH_PERSON}",
        "(ยิง|แทง)ให้|กระทืบ|ทำระเบิด|สะกดรอย|ตบตี|ชกต่อย|ยกพวกตี",
        "(?<!ไม่)อยากให้(?:(?!ไม่|หาย|ตัวเอง).){1,25}?(ตาย|เจ็บ|พัง|ฉิบหาย|โดนรถชน|ซวย|พิการ|ติดคุก)",
        "แอบตาม|ติดตามไปถึงบ้าน|แอบดูมือถือ|แอบส่องมือถือ",
        f"ทำ(ยังไง|อย่างไร)?ให้{_TH_PERSON}.{{0,8}}(ตกงาน|โดนไล่ออก|ติดคุก|ป่วย|เสียชื่อ|อับอาย)",
        f"ใส่ร้าย|ป้ายสี|ผลัก{_TH_PERSON}",
    ],
)

ILLEGAL = _rule(
    [
        r"(steal|rob|shoplift|burgle|embezzle|launder|smuggle|blackmail|extort|bribe)(s|ed|ing|ery)?",
        r"(scam|defraud|con|swindle)(s|med|ming|ed|ing)? "
        r"(people|someone|somebody|customers|old people|my \w+|him|her|them|investors)",
        r"(forge|fake|counterfeit)(d|ing)? (a |an |my |his |her |their )?(\w+'s )?"
        r"(signature|documents?|passport|id|receipts?|money|cheques?|checks?|certificate|degree)",
        r"tax evasion|evade (my |the )?taxe?s|cheat on (my |the )?taxe?s|money laundering",
        r"without (getting caught|being caught|the police (knowing|finding out))",
        r"without anyone (knowing|finding out)",
        r"(avoid|not) get(ting)? caught|hack into|hack (his|her|their|my \w+'s|someone'?s)",
        r"break into (his|her|their|a|the|my \w+'s|someone'?s) (house|home|car|flat|apartment|account|phone)",
        r"insurance fraud|identity theft|drug deal\w*|illegally|black market",
        r"(pay|paying|get|hire) (someone|somebody|a friend) to (take|sit|do) my (exam|test)",
        r"take my (exam|test) for me|unlicensed (gun|firearm)",
        r"(buy|get|carry|own)\w* (a |an )?(gun|firearm|pistol|weapon) without (a )?licen[cs]e",
        r"will i (get|be) caught|(copy|fake|forge|copying|faking|forging) (my |his |her )?(\w+'s )?signature",
        r"driv\w* (home )?(drunk|high|after drinking)|drunk driving|drink and drive",
        r"sneak (in|into) (the|a) (concert|show|club|cinema|movie|stadium|building|house|party|office)|"
        r"without (a )?ticket|fare dodg\w*",
        r"take money from the (till|register|cash register|company|charity)",
        r"(someone|somebody) else'?s (id|card|account|identity|passport|credit card)",
        r"stolen (card|id|identity)",
        r"without paying (duty|duties|customs|tax|taxes)|across the border without|smuggl\w*",
        r"(grow|sell|deal)(ing)? (weed|cannabis|marijuana)( and sell)?",
        r"sell(ing)? (my |his |her )?(prescription |leftover )?"
        r"(pills|meds|medication|xanax|adderall|painkillers)",
        r"(sell|buy|deal|smuggle|traffic)(ing)? (drugs|meth|cocaine|heroin|ecstasy)",
    ],
    [
        "ขโมย|ปล้น|ลักทรัพย์|โกงภาษี|หนีภาษี|ฟอกเงิน|(ขาย|ซื้อ|ค้า|ส่ง)(ยาบ้า|ยาไอซ์|โคเคน|เฮโรอีน|ยาเสพติด)",
        "ปลอม(เอกสาร|บัตร|ลายเซ็น|ลายมือชื่อ|สลิป)|หลอก(เอา)?เงิน|ต้มตุ๋น|ไม่ให้(ตำรวจ)?จับได้|ไม่ให้โดนจับ",
        "แฮก|แฮ็ก|ติดสินบน|ลักลอบ|ยักยอก|ขนยา|โกง(เงิน|ลูกค้า|บริษัท)|(บัตร|เอกสาร|ใบ)\\S{0,8}ปลอม",
        "หนีภาษี|เลี่ยงภาษีศุลกากร|บัตรคนอื่น|บัญชีคนอื่น|บ่อน|พนันออนไลน์|เว็บพนัน|ไม่ให้ตำรวจรู้|เมาแล้วขับ",
    ],
)

MEDICAL = _rule(
    [
        r"(do|does|did) (i|he|she|my \w+) have (a |an )?(\w+ )?(cancer|diabetes|hiv|aids|tumou?r|covid|"
        r"disease|depression|adhd|autism|infection)",
        r"is (it|this( \w+)?|my \w+( \w+)?|the \w+) (cancer|a tumou?r|malignant|benign|a heart attack|"
        r"a stroke|an infection|appendicitis|diabetes)|am i pregnant",
        r"(symptoms?|rash|lump|bleeding|fever|headaches?|swelling|mole|(chest|back|stomach) pain) .{0,30}"
        r"(mean|a sign of)",
        r"(what|which) (medicine|medication|pills|drugs?|antibiotics?) (should|can|do) (i|we) (give|take)",
        r"give (my )?(baby|child|kid|son|daughter|toddler) .{0,20}(medicine|pills|dose|tablets)",
        r"should (i|he|she|we|my \w+) (stop|quit|skip|change|come off) "
        r"(my |his |her |the )?(\w+ ){1,3}"
        r"(medication|medicine|meds|pills|treatment|tablets)",
        r"(stop|quit|skip|come off|halve|double)\w* (taking )?(my |his |her |the )?"
        r"(insulin|chemo\w*|dialysis|medication|meds|antidepressants?|antibiotics|blood thinners?|steroids)",
        r"(is|are) (it|this|that|these|my)( \w+){0,3} (cancer|cancerous|a tumou?r|malignant)",
        r"(double|triple|halve|increase|decrease|raise|lower)\w* (my |his |her )?(\w+ )?"
        r"(medication|dose|meds|pills|dosage)",
        r"is (my|his|her|the) (\w+'s )?(fever|rash|lump|cough|pain|bleeding|swelling|headache) "
        r"(dangerous|serious|normal|something)",
        r"should (i|he|she|we|my \w+) (stop|quit|skip|take|start|double|increase|reduce|lower|change|"
        r"come off|stop taking|quit taking) (my |his |her |the )?(medication|medicine|meds|pills|chemo\w*|"
        r"treatment|insulin|antidepressants?|dose|dosage|prescription|antibiotics)",
        r"should (i|he|she|we|my \w+) (have|get|do|skip|refuse|cancel|delay|postpone) "
        r"(the |my |a |an |his |her )?"
        r"(surgery|operation|chemo\w*|vaccine|biopsy|treatment|transplant|abortion|c-section|radiation)",
        r"what (dose|dosage)|how (many|much) (pills|tablets|mg|paracetamol|ibuprofen|insulin)",
        r"instead of (a|seeing a|going to the) (doctor|hospital)",
    ],
    [
        "เป็นมะเร็ง(ไหม|มั้ย|หรือเปล่า|รึเปล่า|หรือไม่)|ใช่มะเร็ง|มะเร็งไหม|เป็นเบาหวานไหม|เป็นเอดส์|ติดเชื้อไหม|ควร(หยุด|เลิก|ลด|เพิ่ม)(กิน|ฉีด)?(ยา|อินซูลิน)",
        "ควร(ผ่าตัด|ทำคีโม|ฉีดวัคซีน|ทำแท้ง)|ควรกินยาอะไร|กินยา.{0,10}กี่เม็ด|ฉันท้องไหม|ท้องหรือเปล่า",
        "กี่เม็ด|กี่มิลลิกรัม|ตั้งครรภ์หรือเปล่า|ไม่ต้องไปหาหมอ|แทนการไปหาหมอ|รักษา.{0,10}เองได้ไหม",
    ],
)

LEGAL = _rule(
    [
        r"will i (win|lose) (the|my|this) (court case|case in court|lawsuit|trial|custody (case|battle))",
        r"(am i|will i be|is he|is she) (guilty|convicted|sentenced|acquitted|going to (jail|prison)|jailed|"
        r"deported|arrested)",
        r"should i (plead|sue|testify|take the plea|settle the (case|lawsuit)|represent myself|"
        r"sign the (plea|confession))",
        r"is it (legal|illegal) (to|for)|how long (will|would) i (go to|be in|spend in) (jail|prison)",
        r"can i be sued|will (he|she|they) sue me|plea (deal|bargain)|(prison|jail) (time|sentence)",
        r"(go|going|be sent|end up) (to|in) (prison|jail)",
        r"(win|lose|winning|losing) (my|the|this|our) (court case|case|lawsuit|trial|appeal)\b.{0,40}"
        r"(court|against|judge|lawyer)|(win|lose) (my|the|this|our) (court case|lawsuit|trial|appeal)",
        r"will the (judge|court|jury) (rule|decide|sentence|find|convict|acquit|give|grant|believe)",
        r"(get|win|lose|give me|grant me) (full |joint |sole )?custody|custody (case|battle|hearing)",
    ],
    [
        "ชนะคดี|แพ้คดี|ติดคุกไหม|จะติดคุก|โดนจำคุก|ควรฟ้อง|ฟ้องร้อง.{0,10}ไหม|ถูกกฎหมายไหม",
        "ผิดกฎหมายไหม|ศาลจะตัดสิน|รับสารภาพดีไหม|ควรรับสารภาพ",
    ],
)

FINANCIAL = _rule(
    [
        r"(put|invest|bet|move|spend|sink|gamble|throw) (all|everything|my (entire|whole|life)|"
        r"my (life )?savings|my retirement|my pension|my house)",
        r"all (of )?my (savings|money|retirement|pension)",
        r"(mortgage|sell|remortgage) (my|our) (house|home|car|land) to",
        r"(second|another) mortgage|remortgag\w*",
        r"(which|what) (stocks?|shares|coins?|crypto\w*|tokens?|funds?) (should|to|will|do)",
        r"should i (buy|sell|short) (\w+ )?"
        r"(stocks?|shares|bitcoin|btc|eth\w*|crypto\w*|coins?|options|gold|forex)",
        r"(take|taking) (out )?(a |another )?loan to (invest|gamble|buy crypto|trade|bet)",
        r"borrow\w* .{0,30}to (invest|gamble|trade|bet|buy (lottery|crypto|stocks?|shares))|loan shark",
        r"lottery numbers?|winning numbers?|numbers? (will|to) win|lucky numbers? for the lottery",
        r"(lotto|lottery).{0,30}numbers?|numbers?.{0,30}(lotto|lottery)",
        r"(will|is) (bitcoin|btc|the stock|\w+ stock) (go|going) (up|down)|(declare|file for) bankruptcy",
    ],
    [
        "เลขเด็ด|หวยงวดนี้|หวยออก|ขอเลข|ซื้อหุ้น(ตัว)?ไหน|หุ้นตัวไหน|คริปโต(ตัว)?ไหน|เหรียญไหน(ดี|จะ)",
        "เงินเก็บทั้งหมด|ทุ่มเงินทั้งหมด|กู้(เงิน)?(มา)?(ลงทุน|เล่น|เทรด|พนัน)|จำนองบ้าน|ขายบ้าน(ไป|มา)?ลงทุน",
        "หุ้น.{0,15}(ขึ้น|ลง)ไหม|หวยงวด|หวย.{0,20}เลข|เลข.{0,20}หวย",
    ],
)

ABUSE = _rule([r"(fuck|shit|bitch|cunt|asshole|bastard)\w*"], ["เหี้ย|ควาย|สัส"])

RULES: tuple[tuple[RefusalKind, re.Pattern[str]], ...] = (
    ("self_harm", SELF_HARM),
    ("harm", HARM_OTHERS),
    ("illegal", ILLEGAL),
    ("medical", MEDICAL),
    ("legal", LEGAL),
    ("financial", FINANCIAL),
    ("abuse", ABUSE),
)

REFUSALS: dict[RefusalKind, dict[str, str]] = {
    "self_harm": {
        "en": "This sounds heavy, and you deserve real support, not a card reading. Please talk to "
        "someone you trust or a crisis line (in Thailand, the mental health hotline 1323, any time). "
        "No star was charged.",
        "th": "เรื่องนี้ฟังดูหนักใจมาก และคุณควรได้รับการดูแลจริงๆ มากกว่าการดูไพ่ ลองคุยกับคนที่คุณไว้ใจ "
        "หรือโทรสายด่วนสุขภาพจิต 1323 ได้ตลอด 24 ชั่วโมง ไม่มีการหักดาวสำหรับคำถามนี้",
    },
    "harm": {
        "en": "The cards can't be read for harming or controlling anyone. If anger or hurt is building "
        "up, talking it through with someone you trust helps; if anyone is in danger, call 191. "
        "No star was charged.",
        "th": "ไม่สามารถดูไพ่เพื่อทำร้ายหรือควบคุมผู้อื่นได้ ถ้าความโกรธหรือความเจ็บปวดกำลังสะสม "
        "ลองระบายกับคนที่ไว้ใจ และหากมีใครตกอยู่ในอันตราย โทร 191 ไม่มีการหักดาวสำหรับคำถามนี้",
    },
    "illegal": {
        "en": "A reading can't help with anything against the law. If you are in a difficult spot, "
        "a lawyer or a legal aid service can help you find a safe way through. No star was charged.",
        "th": "การดูไพ่ไม่สามารถช่วยในเรื่องที่ผิดกฎหมายได้ หากคุณกำลังลำบาก "
        "ทนายความหรือหน่วยงานช่วยเหลือทางกฎหมายช่วยหาทางออกที่ปลอดภัยได้ ไม่มีการหักดาวสำหรับคำถามนี้",
    },
    "medical": {
        "en": "This is a question for a doctor, not the cards: please see a doctor or pharmacist about "
        "it (in an emergency in Thailand, call 1669). You are welcome to ask how to face it calmly. "
        "No star was charged.",
        "th": "คำถามนี้ควรปรึกษาแพทย์มากกว่าการดูไพ่ กรุณาพบแพทย์หรือเภสัชกร (กรณีฉุกเฉินโทร 1669) "
        "คุณถามเรื่องการรับมือกับสถานการณ์นี้อย่างใจเย็นได้ ไม่มีการหักดาวสำหรับคำถามนี้",
    },
    "legal": {
        "en": "Legal outcomes and decisions need a lawyer who knows your case; the cards can't replace that. "
        "You are welcome to ask how to approach it with a clear head. No star was charged.",
        "th": "ผลทางกฎหมายและการตัดสินใจเรื่องคดีควรปรึกษาทนายความที่รู้รายละเอียด การดูไพ่แทนไม่ได้ "
        "คุณถามเรื่องการเตรียมใจรับมือได้ ไม่มีการหักดาวสำหรับคำถามนี้",
    },
    "financial": {
        "en": "Big money decisions, picks and lottery numbers deserve a licensed financial adviser, not "
        "the cards. You are welcome to ask about your relationship with money or what to weigh. "
        "No star was charged.",
        "th": "การตัดสินใจเรื่องเงินก้อนใหญ่ การเลือกหุ้น หรือเลขหวย ควรปรึกษาผู้เชี่ยวชาญด้านการเงิน "
        "ไม่ใช่ไพ่ทาโรต์ คุณถามเรื่องมุมมองต่อการเงินหรือสิ่งที่ควรชั่งน้ำหนักได้ "
        "ไม่มีการหักดาวสำหรับคำถามนี้",
    },
    "abuse": {
        "en": "Please ask without abusive language. No star was charged.",
        "th": "กรุณาถามโดยไม่ใช้ถ้อยคำหยาบคาย ไม่มีการหักดาวสำหรับคำถามนี้",
    },
    "gibberish": {
        "en": "The question could not be understood; please ask it in a sentence. No star was charged.",
        "th": "ไม่เข้าใจคำถาม กรุณาพิมพ์คำถามเป็นประโยค ไม่มีการหักดาวสำหรับคำถามนี้",
    },
}


def normalize(question: str) -> str:
    """Lower case, straight apostrophes, single spaces: the text the rules read."""
    text = question.replace("\u2019", "'").replace("\u2018", "'").lower()
    return " ".join(text.split())


def refusal_kind(question: str) -> RefusalKind | None:
    """The first rule the question breaks (``self_harm``, ``harm``, …), or ``None`` when it may be read."""
    text = normalize(question)
    if SELF_HARM.search(text):  # checked before idioms are blanked: "dying to end it all" stays caught
        return "self_harm"
    text = BENIGN_IDIOMS.sub(" ", text)
    for kind, pattern in RULES[1:]:
        if pattern.search(text):
            return kind
    return None
