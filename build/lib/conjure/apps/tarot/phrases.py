"""The offline reader's phrase book, English and Thai: position frames, lenses per question area, relations.

Each position has several frames so that two readings rarely open a card the same way;
``offline`` picks among them with a hash of the question and the draw (deterministic).
Frames are neutral about the keyword's tone, because reversed keywords can be hopeful
("recovery") and upright ones hard ("heartbreak").
Slots: ``{card}`` card name as shown, ``{k0}``/``{k1}`` keywords, ``{area}`` the question's
area, ``{when}`` the timeframe phrase (may be empty).
"""

from __future__ import annotations

FRAMES: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {
        "past": (
            "In the past position, {card} shows where this began: {k0} and {k1} have shaped {area}.",
            "Looking back, {card} explains much of how {area} got here, through {k0} above all.",
            "{card} sits behind you: the roots of {area} lie in {k0}, and in {k1}.",
            "What came before is {card}; {k0} left its mark on {area}.",
        ),
        "present": (
            "At the centre of {area} right now is {card}, and with it {k0}.",
            "{card} describes today: {k0}, with {k1} close behind, sets the tone of {area}.",
            "For the present, {card} names the mood of {area}: {k0}.",
            "Where you stand now, {card} brings {k0} and {k1} to the surface of {area}.",
        ),
        "future": (
            "Ahead{when}, {card} brings {k0} into {area}.",
            "{card} in the future position suggests {area} moves towards {k0}{when}.",
            "What comes next{when} carries the mark of {card}: {k0}, then {k1}.",
            "The road ahead for {area} turns on {k0}{when}, as {card} shows.",
        ),
        "challenge": (
            "The challenge comes through {card}: how you handle {k0} decides a lot in {area}.",
            "Standing in the way is {card}; {k0} is the knot to untie in {area}.",
            "{card} marks the friction in {area}: {k0} and {k1} need your honest attention.",
        ),
        "advice": (
            "As advice, {card} asks you to work with {k0} in {area}.",
            "{card} is the counsel here: bring {k0} and {k1} into how you handle {area}.",
            "The advice card, {card}, points to {k0} as your best tool for {area}.",
        ),
        # Reversed or hard cards as advice: their keywords are warnings, not tools.
        "advice_caution": (
            "As advice, {card} asks you to look honestly at {k0} in {area}.",
            "{card} is the counsel here: notice where {k0} creeps into {area}, and handle it with care.",
            "The advice card, {card}, turns your attention to {k0}, the part of {area} that needs care.",
        ),
        "outcome": (
            "If nothing changes, {card} shows where {area} lands{when}: {k0}.",
            "The likely outcome{when} is {card}, with {k0} and {k1} colouring {area}.",
            "{card} closes the spread: {area} is heading for {k0}{when}.",
        ),
    },
    "th": {
        "past": (
            "ในตำแหน่งอดีต {card} บอกว่า{area}เริ่มต้นมาจาก{k0}และ{k1}",
            "ย้อนกลับไป {card} อธิบายว่า{area}มาถึงจุดนี้เพราะ{k0}เป็นหลัก",
            "รากของ{area}อยู่ที่{k0} ตามที่ {card} ในตำแหน่งอดีตเผยให้เห็น",
            "สิ่งที่ผ่านมาคือ {card} ซึ่งทิ้งร่องรอยของ{k0}ไว้ใน{area}",
        ),
        "present": (
            "ตอนนี้ {card} อยู่ตรงกลางของ{area} พร้อมกับ{k0}",
            "{card} บรรยายปัจจุบันว่า{k0}และ{k1}กำลังกำหนดทิศทางของ{area}",
            "ในปัจจุบัน {card} บอกอารมณ์ของ{area}ว่าเป็นเรื่องของ{k0}",
            "ณ จุดที่คุณยืนอยู่ {card} ทำให้{k0}ใน{area}ปรากฏชัดขึ้น",
        ),
        "future": (
            "ข้างหน้า{when} {card} จะนำ{k0}เข้ามาใน{area}",
            "{card} ในตำแหน่งอนาคตบอกว่า{area}กำลังเคลื่อนไปสู่{k0}{when}",
            "สิ่งที่จะมาถึง{when}มีพลังของ {card} คือ{k0}และ{k1}",
            "เส้นทางข้างหน้าของ{area}{when}ขึ้นอยู่กับ{k0} ตามที่ {card} แสดง",
        ),
        "challenge": (
            "อุปสรรคมาในรูปของ {card} วิธีที่คุณรับมือกับ{k0}จะตัดสินอะไรหลายอย่างใน{area}",
            "สิ่งที่ขวางอยู่คือ {card} ปมที่ต้องคลายใน{area}คือ{k0}",
            "{card} ชี้จุดเสียดทานใน{area} {k0}และ{k1}ต้องการความซื่อตรงจากคุณ",
        ),
        "advice": (
            "คำแนะนำจาก {card} คือให้ใช้{k0}ในการจัดการ{area}",
            "{card} แนะนำให้นำ{k0}และ{k1}มาใช้กับ{area}",
            "ไพ่คำแนะนำ {card} ชี้ว่า{k0}คือเครื่องมือที่ดีที่สุดของคุณใน{area}",
        ),
        "advice_caution": (
            "คำแนะนำจาก {card} คือให้มอง{k0}ใน{area}อย่างซื่อตรง",
            "{card} แนะนำให้สังเกตว่า{k0}แทรกเข้ามาใน{area}ตรงไหน แล้วจัดการอย่างระมัดระวัง",
            "ไพ่คำแนะนำ {card} ชวนให้ใส่ใจ{k0} ซึ่งเป็นส่วนของ{area}ที่ต้องดูแล",
        ),
        "outcome": (
            "ถ้าทุกอย่างยังเป็นเช่นนี้ {card} บอกว่า{area}{when}จะไปจบที่{k0}",
            "ผลลัพธ์ที่น่าจะเกิด{when}คือ {card} โดยมี{k0}และ{k1}เป็นสีสันของ{area}",
            "{card} ปิดท้ายการเปิดไพ่ {area}กำลังมุ่งไปสู่{k0}{when}",
        ),
    },
}

AREA = {
    "en": {
        "love": "your love life",
        "career": "your work",
        "finance": "your finances",
        "health": "your wellbeing",
        "family": "your family life",
        "education": "your studies",
        "personal_growth": "your growth",
        "spiritual": "your spiritual path",
        "general": "your situation",
    },
    "th": {
        "love": "ความรัก",
        "career": "การงาน",
        "finance": "การเงิน",
        "health": "สุขภาพกายใจ",
        "family": "ครอบครัว",
        "education": "การเรียน",
        "personal_growth": "การเติบโตของตัวคุณ",
        "spiritual": "เส้นทางจิตวิญญาณ",
        "general": "สถานการณ์ของคุณ",
    },
}

WHEN = {
    "en": {"near_future": " in the coming weeks", "long_term": " over the longer run", "present": " soon"},
    "th": {"near_future": "ในไม่กี่สัปดาห์นี้", "long_term": "ในระยะยาว", "present": "ในเร็วๆ นี้"},
}

SUIT_NAME = {
    "en": {"wands": "Wands", "cups": "Cups", "swords": "Swords", "pentacles": "Pentacles"},
    "th": {"wands": "ไม้เท้า", "cups": "ถ้วย", "swords": "ดาบ", "pentacles": "เหรียญ"},
}
ELEMENT = {
    "en": {
        "wands": "drive, ambition and action",
        "cups": "feelings and relationships",
        "swords": "thoughts, words and decisions",
        "pentacles": "money, body and practical matters",
    },
    "th": {
        "wands": "แรงขับ ความทะเยอทะยาน และการลงมือทำ",
        "cups": "ความรู้สึกและความสัมพันธ์",
        "swords": "ความคิด คำพูด และการตัดสินใจ",
        "pentacles": "เงิน ร่างกาย และเรื่องในทางปฏิบัติ",
    },
}

# What a repeated number says (minor cards 1–10, courts 11–14).
NUMBER = {
    "en": {
        1: "new beginnings",
        2: "choices and partnership",
        3: "growth and collaboration",
        4: "stability and rest",
        5: "conflict and change",
        6: "harmony and giving",
        7: "tests of faith and strategy",
        8: "movement and effort",
        9: "being close to the finish",
        10: "the end of a cycle",
        11: "news and learning",
        12: "swift action",
        13: "care and maturity",
        14: "leadership and responsibility",
    },
    "th": {
        1: "การเริ่มต้นใหม่",
        2: "การเลือกและการจับคู่",
        3: "การเติบโตและความร่วมมือ",
        4: "ความมั่นคงและการพัก",
        5: "ความขัดแย้งและการเปลี่ยนแปลง",
        6: "ความกลมเกลียวและการให้",
        7: "บททดสอบและกลยุทธ์",
        8: "การเคลื่อนไหวและความพยายาม",
        9: "ความใกล้สำเร็จ",
        10: "การจบวัฏจักร",
        11: "ข่าวสารและการเรียนรู้",
        12: "การลงมืออย่างรวดเร็ว",
        13: "ความเอาใจใส่และความเป็นผู้ใหญ่",
        14: "ความเป็นผู้นำและความรับผิดชอบ",
    },
}
NUMBER_NAME = {
    "en": {
        1: "Aces",
        2: "Twos",
        3: "Threes",
        4: "Fours",
        5: "Fives",
        6: "Sixes",
        7: "Sevens",
        8: "Eights",
        9: "Nines",
        10: "Tens",
        11: "Pages",
        12: "Knights",
        13: "Queens",
        14: "Kings",
    },
    "th": {
        1: "เอซ",
        2: "เลขสอง",
        3: "เลขสาม",
        4: "เลขสี่",
        5: "เลขห้า",
        6: "เลขหก",
        7: "เลขเจ็ด",
        8: "เลขแปด",
        9: "เลขเก้า",
        10: "เลขสิบ",
        11: "เพจ",
        12: "อัศวิน",
        13: "ราชินี",
        14: "ราชา",
    },
}

# Concrete next steps per area (one picked by hash).
STEP = {
    "en": {
        "love": (
            "say one honest thing you have been holding back",
            "plan one unhurried evening together",
            "ask what the other person needs, and listen to the whole answer",
            "notice what you give and what you get back, without keeping score",
        ),
        "career": (
            "write down the one result you want from work this month",
            "ask one person for feedback",
            "finish the task you keep pushing to tomorrow",
            "have the conversation about your role that you have been postponing",
        ),
        "finance": (
            "look at last month's spending line by line",
            "set one small, automatic saving",
            "pay down the smallest debt first, for the momentum",
            "write down what enough money would mean for you in numbers",
        ),
        "health": (
            "protect your sleep for the next seven nights",
            "book the check-up you keep postponing",
            "walk for twenty minutes a day and note how you feel",
            "tell one person how you are really doing",
        ),
        "family": (
            "call the family member you think of first",
            "share one meal without phones",
            "say thank you for something you usually take for granted",
            "agree one small, fair change in who does what at home",
        ),
        "education": (
            "set a fixed study hour and keep it for a week",
            "explain a topic aloud to someone",
            "make a one-page plan of what is left to learn",
            "ask your teacher or a classmate the question you are shy about",
        ),
        "personal_growth": (
            "keep a three-line journal for a week",
            "drop one habit that drains you",
            "do one thing that scares you a little",
            "write down three things you did well today, every day for a week",
        ),
        "spiritual": (
            "give ten quiet minutes a day to stillness",
            "notice what moves you and follow it",
            "spend time in nature without your phone",
            "write down a question and let it sit for a few days before answering",
        ),
        "general": (
            "name the one decision you are avoiding",
            "take one small, concrete step",
            "talk it through with someone who knows you well",
            "write the situation down in three sentences to see it clearly",
        ),
    },
    "th": {
        "love": (
            "พูดความจริงหนึ่งเรื่องที่คุณเก็บไว้",
            "วางแผนใช้เวลาดีๆ ด้วยกันสักหนึ่งเย็น",
            "ถามว่าอีกฝ่ายต้องการอะไร แล้วฟังให้จบ",
            "สังเกตสิ่งที่คุณให้และได้รับ โดยไม่ต้องนับคะแนน",
        ),
        "career": (
            "เขียนผลลัพธ์หนึ่งอย่างที่อยากได้จากงานเดือนนี้",
            "ขอคำติชมจากใครสักคน",
            "ทำงานที่ผัดไว้ให้เสร็จ",
            "คุยเรื่องบทบาทของคุณที่เลื่อนมานาน",
        ),
        "finance": (
            "ทบทวนรายจ่ายเดือนที่แล้วทีละรายการ",
            "ตั้งการออมอัตโนมัติเล็กๆ สักก้อน",
            "ปิดหนี้ก้อนเล็กที่สุดก่อนเพื่อสร้างแรงส่ง",
            "เขียนเป็นตัวเลขว่าเงินแค่ไหนคือพอสำหรับคุณ",
        ),
        "health": (
            "ดูแลการนอนให้ดีตลอดเจ็ดคืนนี้",
            "นัดตรวจสุขภาพที่เลื่อนมานาน",
            "เดินวันละยี่สิบนาทีแล้วจดว่ารู้สึกอย่างไร",
            "บอกใครสักคนว่าคุณเป็นอย่างไรจริงๆ",
        ),
        "family": (
            "โทรหาคนในครอบครัวที่คุณนึกถึงเป็นคนแรก",
            "กินข้าวด้วยกันสักมื้อโดยไม่แตะโทรศัพท์",
            "ขอบคุณสำหรับสิ่งที่ปกติมองข้ามไป",
            "ตกลงเปลี่ยนการแบ่งงานในบ้านเล็กๆ ให้ยุติธรรมขึ้น",
        ),
        "education": (
            "กำหนดชั่วโมงอ่านหนังสือที่แน่นอนและทำให้ได้หนึ่งสัปดาห์",
            "อธิบายบทเรียนให้คนอื่นฟัง",
            "ทำแผนหนึ่งหน้าว่ายังเหลืออะไรต้องเรียน",
            "ถามคำถามที่คุณอายจะถามกับครูหรือเพื่อน",
        ),
        "personal_growth": (
            "เขียนบันทึกสั้นๆ สามบรรทัดทุกวันหนึ่งสัปดาห์",
            "เลิกนิสัยหนึ่งอย่างที่ดูดพลังคุณ",
            "ทำสิ่งที่ทำให้กลัวนิดๆ สักหนึ่งอย่าง",
            "จดสามเรื่องที่ทำได้ดีในแต่ละวันตลอดหนึ่งสัปดาห์",
        ),
        "spiritual": (
            "ให้เวลาความสงบวันละสิบนาที",
            "สังเกตว่าอะไรทำให้ใจคุณเคลื่อนไหว แล้วเดินตามมัน",
            "ใช้เวลากับธรรมชาติโดยไม่มีโทรศัพท์",
            "เขียนคำถามไว้แล้วปล่อยให้มันตกตะกอนสักสองสามวัน",
        ),
        "general": (
            "ระบุการตัดสินใจหนึ่งเรื่องที่คุณเลี่ยงอยู่",
            "ก้าวเล็กๆ ที่ทำได้จริงหนึ่งก้าว",
            "คุยเรื่องนี้กับคนที่รู้จักคุณดี",
            "เขียนสถานการณ์เป็นสามประโยคเพื่อให้เห็นภาพชัด",
        ),
    },
}
