"""How each suit (or the Major Arcana) speaks to each area of life, upright and reversed, in English and Thai.

The offline reader gives this line for the first card of each suit in a spread, so the
reading says what Cups mean *for a career question* rather than Cups in general.
"""

from __future__ import annotations

# How each suit (or the Major Arcana) speaks to each area of life: one line per pair.
LENS: dict[str, dict[str, dict[str, str]]] = {
    "en": {
        "wands": {
            "love": (
                "In love, this is about desire and courage: who makes the first move, and whether the "
                "spark is fed."
            ),
            "career": (
                "At work it speaks of drive and initiative: the project you want to lead, the energy you "
                "bring."
            ),
            "finance": (
                "With money, it is about bold moves: earning through your own initiative rather than waiting."
            ),
            "health": (
                "For your wellbeing it concerns energy: how you spend it, and whether you rest before "
                "burning out."
            ),
            "family": (
                "In the family, it points to who takes the lead and how much heat the discussions carry."
            ),
            "education": (
                "For study, it is motivation: a subject that lights you up will carry you further than duty."
            ),
            "personal_growth": (
                "For your growth, it asks what you are passionate about and whether you act on it."
            ),
            "spiritual": (
                "Spiritually, it is the fire of purpose: the sense that you are meant to do something."
            ),
            "general": "Its fire asks for action and initiative rather than waiting for a sign.",
        },
        "cups": {
            "love": (
                "In love, this goes straight to the heart: what you feel, what you hope for, what is "
                "returned."
            ),
            "career": (
                "At work, it asks whether the job still feeds you emotionally, and how you get on with "
                "people."
            ),
            "finance": (
                "With money, it shows how feelings drive spending and saving; comfort purchases or "
                "generosity."
            ),
            "health": (
                "For your wellbeing it points to emotional health: what you hold in, and who you can lean on."
            ),
            "family": "In the family, it is about closeness: old feelings, care given and care received.",
            "education": (
                "For study, it asks whether you love what you learn, and who supports you along the way."
            ),
            "personal_growth": (
                "For your growth, it asks you to be honest about your feelings rather than tidy them away."
            ),
            "spiritual": "Spiritually, it speaks of intuition and compassion, the quiet voice inside.",
            "general": "Its water is emotion: how you feel about this matters as much as what happens.",
        },
        "swords": {
            "love": (
                "In love, this is about communication: what is said, what is left unsaid, and what you "
                "believe."
            ),
            "career": "At work, it points to decisions, hard conversations and the plans in your head.",
            "finance": "With money, it asks for clear thinking: read the numbers, not the fears.",
            "health": (
                "For your wellbeing it concerns the mind: worry, sleep and the stories you tell yourself."
            ),
            "family": (
                "In the family, it shows words that cut or heal, and decisions that need saying out loud."
            ),
            "education": "For study, it is the sharp mind at work: analysis, exams and clear arguments.",
            "personal_growth": (
                "For your growth, it asks which beliefs about yourself are true and which are old habits."
            ),
            "spiritual": "Spiritually, it is discernment: cutting through illusion to what is real.",
            "general": "Its air is the mind: clarity, truth and the decisions you keep turning over.",
        },
        "pentacles": {
            "love": "In love, this is about commitment in practice: time, a shared home, steady effort.",
            "career": "At work, it speaks of craft, pay and the slow building of a solid position.",
            "finance": "With money, it is the card's home ground: budgets, savings and patient growth.",
            "health": "For your wellbeing it concerns the body: routine, food, sleep and steady habits.",
            "family": "In the family, it points to home, security and who carries the practical load.",
            "education": "For study, it rewards practice: steady hours beat last-minute brilliance.",
            "personal_growth": "For your growth, it asks for small daily habits that add up over time.",
            "spiritual": "Spiritually, it grounds you: the sacred in ordinary, physical life.",
            "general": "Its earth is practical: what you can build, keep and touch.",
        },
        "major": {
            "love": (
                "As a Major Arcana card, it says this relationship is part of a larger lesson in your life."
            ),
            "career": (
                "As a Major Arcana card, it marks a turning point in your working life, not a routine week."
            ),
            "finance": (
                "As a Major Arcana card, it suggests your money question is tied to a bigger life change."
            ),
            "health": "As a Major Arcana card, it speaks of a deeper cycle in how you care for yourself.",
            "family": "As a Major Arcana card, it points to a defining chapter in your family story.",
            "education": (
                "As a Major Arcana card, it says this stage of learning will shape where you go next."
            ),
            "personal_growth": (
                "As a Major Arcana card, it marks one of the big lessons of this part of your life."
            ),
            "spiritual": "As a Major Arcana card, it speaks directly to your soul's path.",
            "general": "As a Major Arcana card, it points to forces bigger than the day-to-day.",
        },
    },
    "th": {
        "wands": {
            "love": ("ในเรื่องรัก ไพ่นี้พูดถึงความปรารถนาและความกล้า ใครจะเป็นฝ่ายเริ่ม และไฟรักยังถูกเติมอยู่หรือไม่"),
            "career": "ในงาน ไพ่นี้พูดถึงแรงขับและการริเริ่ม โปรเจกต์ที่คุณอยากนำ และพลังที่คุณใส่ลงไป",
            "finance": "เรื่องเงิน ไพ่นี้ชี้ถึงการกล้าลงมือ หารายได้จากความริเริ่มของตัวเองแทนการรอคอย",
            "health": "เรื่องสุขภาพ ไพ่นี้เกี่ยวกับพลังงาน คุณใช้มันอย่างไร และได้พักก่อนจะหมดไฟหรือเปล่า",
            "family": "ในครอบครัว ไพ่นี้ชี้ว่าใครเป็นผู้นำ และบทสนทนาร้อนแรงเพียงใด",
            "education": "ในการเรียน ไพ่นี้คือแรงบันดาลใจ วิชาที่ทำให้คุณตื่นเต้นจะพาไปได้ไกลกว่าหน้าที่",
            "personal_growth": "สำหรับการเติบโต ไพ่นี้ถามว่าคุณหลงใหลอะไร และได้ลงมือทำตามนั้นหรือยัง",
            "spiritual": "ในทางจิตวิญญาณ ไพ่นี้คือไฟแห่งเป้าหมาย ความรู้สึกว่าคุณเกิดมาเพื่อทำบางสิ่ง",
            "general": "ธาตุไฟของไพ่นี้ขอให้ลงมือและริเริ่ม มากกว่ารอสัญญาณ",
        },
        "cups": {
            "love": "ในเรื่องรัก ไพ่นี้ตรงเข้าสู่หัวใจ สิ่งที่คุณรู้สึก สิ่งที่หวัง และสิ่งที่ได้รับกลับมา",
            "career": "ในงาน ไพ่นี้ถามว่างานยังเติมเต็มใจคุณอยู่ไหม และคุณเข้ากับผู้คนรอบตัวได้ดีเพียงใด",
            "finance": "เรื่องเงิน ไพ่นี้ชี้ว่าอารมณ์ส่งผลต่อการใช้และการเก็บเงินอย่างไร",
            "health": "เรื่องสุขภาพ ไพ่นี้ชี้ไปที่สุขภาพใจ สิ่งที่คุณเก็บไว้ และคนที่คุณพึ่งพาได้",
            "family": "ในครอบครัว ไพ่นี้พูดถึงความใกล้ชิด ความรู้สึกเก่าๆ การดูแลที่ให้และได้รับ",
            "education": "ในการเรียน ไพ่นี้ถามว่าคุณรักสิ่งที่เรียนไหม และใครคอยสนับสนุนคุณ",
            "personal_growth": "สำหรับการเติบโต ไพ่นี้ขอให้คุณซื่อตรงกับความรู้สึก แทนการเก็บซ่อนไว้",
            "spiritual": "ในทางจิตวิญญาณ ไพ่นี้พูดถึงญาณหยั่งรู้และความเมตตา เสียงเบาๆ ภายในใจ",
            "general": "ธาตุน้ำของไพ่นี้คืออารมณ์ ความรู้สึกของคุณสำคัญพอๆ กับสิ่งที่เกิดขึ้น",
        },
        "swords": {
            "love": "ในเรื่องรัก ไพ่นี้พูดถึงการสื่อสาร สิ่งที่พูด สิ่งที่ไม่ได้พูด และสิ่งที่คุณเชื่อ",
            "career": "ในงาน ไพ่นี้ชี้ถึงการตัดสินใจ บทสนทนาที่ยาก และแผนการในหัวของคุณ",
            "finance": "เรื่องเงิน ไพ่นี้ขอความคิดที่ชัดเจน ดูตัวเลขจริง ไม่ใช่ความกลัว",
            "health": "เรื่องสุขภาพ ไพ่นี้เกี่ยวกับจิตใจ ความกังวล การนอน และเรื่องที่คุณเล่าให้ตัวเองฟัง",
            "family": "ในครอบครัว ไพ่นี้แสดงถ้อยคำที่ทำร้ายหรือเยียวยา และการตัดสินใจที่ต้องพูดออกมา",
            "education": "ในการเรียน ไพ่นี้คือความคิดที่เฉียบคม การวิเคราะห์ การสอบ และเหตุผลที่ชัดเจน",
            "personal_growth": ("สำหรับการเติบโต ไพ่นี้ถามว่าความเชื่อเกี่ยวกับตัวเองข้อไหนจริง ข้อไหนเป็นแค่นิสัยเก่า"),
            "spiritual": "ในทางจิตวิญญาณ ไพ่นี้คือการแยกแยะ ตัดผ่านภาพลวงไปสู่ความจริง",
            "general": "ธาตุลมของไพ่นี้คือความคิด ความชัดเจน ความจริง และการตัดสินใจที่คุณยังลังเล",
        },
        "pentacles": {
            "love": "ในเรื่องรัก ไพ่นี้พูดถึงความผูกพันที่จับต้องได้ เวลา บ้าน และความพยายามอย่างสม่ำเสมอ",
            "career": "ในงาน ไพ่นี้พูดถึงฝีมือ รายได้ และการสร้างตำแหน่งที่มั่นคงทีละขั้น",
            "finance": "เรื่องเงินคือบ้านของไพ่นี้ งบประมาณ เงินออม และการเติบโตอย่างอดทน",
            "health": "เรื่องสุขภาพ ไพ่นี้เกี่ยวกับร่างกาย กิจวัตร อาหาร การนอน และนิสัยที่มั่นคง",
            "family": "ในครอบครัว ไพ่นี้ชี้ไปที่บ้าน ความมั่นคง และใครเป็นคนแบกภาระในทางปฏิบัติ",
            "education": "ในการเรียน ไพ่นี้ให้รางวัลกับการฝึกฝน ชั่วโมงที่สม่ำเสมอชนะความเก่งแบบโค้งสุดท้าย",
            "personal_growth": "สำหรับการเติบโต ไพ่นี้ขอนิสัยเล็กๆ ทุกวันที่สะสมเป็นผลใหญ่",
            "spiritual": "ในทางจิตวิญญาณ ไพ่นี้ช่วยให้คุณหยั่งราก เห็นความศักดิ์สิทธิ์ในชีวิตธรรมดา",
            "general": "ธาตุดินของไพ่นี้เป็นเรื่องปฏิบัติ สิ่งที่คุณสร้าง เก็บรักษา และจับต้องได้",
        },
        "major": {
            "love": "ในฐานะไพ่ชุดใหญ่ ไพ่นี้บอกว่าความสัมพันธ์นี้เป็นส่วนหนึ่งของบทเรียนใหญ่ในชีวิต",
            "career": "ในฐานะไพ่ชุดใหญ่ ไพ่นี้บอกถึงจุดเปลี่ยนของชีวิตการงาน ไม่ใช่แค่สัปดาห์ธรรมดา",
            "finance": "ในฐานะไพ่ชุดใหญ่ ไพ่นี้บอกว่าเรื่องเงินผูกอยู่กับการเปลี่ยนแปลงที่ใหญ่กว่านั้น",
            "health": "ในฐานะไพ่ชุดใหญ่ ไพ่นี้พูดถึงวงจรที่ลึกกว่าในการดูแลตัวเอง",
            "family": "ในฐานะไพ่ชุดใหญ่ ไพ่นี้ชี้ถึงบทสำคัญในเรื่องราวของครอบครัว",
            "education": "ในฐานะไพ่ชุดใหญ่ ไพ่นี้บอกว่าการเรียนช่วงนี้จะกำหนดทางเดินต่อไปของคุณ",
            "personal_growth": "ในฐานะไพ่ชุดใหญ่ ไพ่นี้คือบทเรียนใหญ่บทหนึ่งของชีวิตช่วงนี้",
            "spiritual": "ในฐานะไพ่ชุดใหญ่ ไพ่นี้พูดตรงกับเส้นทางของจิตวิญญาณคุณ",
            "general": "ในฐานะไพ่ชุดใหญ่ ไพ่นี้ชี้ถึงพลังที่ใหญ่กว่าเรื่องในชีวิตประจำวัน",
        },
    },
}

# The same lens when the card is reversed: the suit's gift is blocked, late or overdone.
LENS_REVERSED: dict[str, dict[str, dict[str, str]]] = {
    "en": {
        "wands": {
            "love": (
                "Reversed in love, the spark is there but unfed: desire stalls, or burns too hot to last."
            ),
            "career": (
                "Reversed at work, drive is blocked or scattered: too many starts, not enough finishes."
            ),
            "finance": "Reversed with money, bold moves turn rash; check the plan before you spend on it.",
            "health": "Reversed for your wellbeing, energy runs low or in bursts; burnout is the risk.",
            "family": "Reversed in the family, tempers flare or nobody wants to lead; cool the heat first.",
            "education": "Reversed for study, motivation flags; find the part of the subject you care about.",
            "personal_growth": "Reversed for your growth, passion is there but not acted on yet.",
            "spiritual": "Reversed spiritually, the sense of purpose has dimmed for a while; it is not gone.",
            "general": "Reversed, its fire is blocked or scattered; aim it before you act.",
        },
        "cups": {
            "love": (
                "Reversed in love, feelings are held back, unreturned or muddled; say what you really feel."
            ),
            "career": "Reversed at work, the job feels empty, or feelings about people cloud the work.",
            "finance": "Reversed with money, mood spending or guilt about money needs a calm look.",
            "health": "Reversed for your wellbeing, bottled-up feelings weigh on you; let someone in.",
            "family": "Reversed in the family, closeness is strained; old hurts need a gentle word.",
            "education": "Reversed for study, your heart is not in it right now; ask why.",
            "personal_growth": "Reversed for your growth, you may be hiding feelings even from yourself.",
            "spiritual": "Reversed spiritually, intuition is drowned out; quiet helps you hear it again.",
            "general": "Reversed, its water is stuck: feelings are held in or spill over.",
        },
        "swords": {
            "love": "Reversed in love, words go unsaid or come out sharp; clear the air kindly.",
            "career": "Reversed at work, decisions stall or conversations go wrong; get the facts straight.",
            "finance": "Reversed with money, worry distorts the numbers; look again with a clear head.",
            "health": (
                "Reversed for your wellbeing, an overactive mind disturbs rest; calm the thoughts first."
            ),
            "family": "Reversed in the family, misunderstandings pile up; say it plainly, once, calmly.",
            "education": "Reversed for study, focus slips; shorter sessions will serve you better.",
            "personal_growth": "Reversed for your growth, an old belief about yourself needs questioning.",
            "spiritual": "Reversed spiritually, overthinking gets in the way of simply knowing.",
            "general": "Reversed, its air is clouded: confusion before clarity.",
        },
        "pentacles": {
            "love": "Reversed in love, practical worries or uneven effort strain the bond.",
            "career": "Reversed at work, progress slows or effort goes unrewarded; check where it is going.",
            "finance": "Reversed with money, plans slip: too tight, too loose, or not yet paying off.",
            "health": "Reversed for your wellbeing, routines have slipped; start again with one small habit.",
            "family": "Reversed in the family, money or chores cause friction; share the load fairly.",
            "education": "Reversed for study, practice has stalled; small daily steps restart it.",
            "personal_growth": "Reversed for your growth, the ground feels shaky; rebuild basic routines.",
            "spiritual": "Reversed spiritually, material worries crowd out the quieter life.",
            "general": "Reversed, its earth is unsettled: practical matters need attention.",
        },
        "major": {
            "love": "A Major Arcana card reversed: the lesson in this relationship is being resisted.",
            "career": "A Major Arcana card reversed: the turning point at work is delayed, not cancelled.",
            "finance": "A Major Arcana card reversed: a bigger change behind the money question is held up.",
            "health": "A Major Arcana card reversed: a deeper cycle of self-care is asking to be faced.",
            "family": "A Major Arcana card reversed: a family chapter is stuck until someone moves first.",
            "education": (
                "A Major Arcana card reversed: this stage of learning has a lesson still to be learned."
            ),
            "personal_growth": (
                "A Major Arcana card reversed: a big lesson keeps returning until it is learned."
            ),
            "spiritual": "A Major Arcana card reversed: your path is asking for patience and honesty.",
            "general": "A Major Arcana card reversed: larger forces are moving slowly or inwardly.",
        },
    },
    "th": {
        "wands": {
            "love": ("ไพ่กลับหัวในเรื่องรัก ประกายยังอยู่แต่ไม่ได้ถูกเติม ความปรารถนาสะดุดหรือร้อนแรงจนไม่ยั่งยืน"),
            "career": "ไพ่กลับหัวในงาน แรงขับถูกปิดกั้นหรือกระจัดกระจาย เริ่มหลายอย่างแต่จบได้น้อย",
            "finance": "ไพ่กลับหัวเรื่องเงิน ความกล้ากลายเป็นความบุ่มบ่าม ตรวจแผนก่อนใช้เงิน",
            "health": "ไพ่กลับหัวเรื่องสุขภาพ พลังงานต่ำหรือมาเป็นพักๆ ระวังการหมดไฟ",
            "family": "ไพ่กลับหัวในครอบครัว อารมณ์ร้อนปะทุหรือไม่มีใครอยากนำ ลดความร้อนแรงก่อน",
            "education": "ไพ่กลับหัวในการเรียน แรงจูงใจลดลง หาส่วนของวิชาที่คุณสนใจจริงๆ",
            "personal_growth": "ไพ่กลับหัวสำหรับการเติบโต ความหลงใหลยังอยู่แต่ยังไม่ได้ลงมือ",
            "spiritual": "ไพ่กลับหัวในทางจิตวิญญาณ ความรู้สึกถึงเป้าหมายหรี่ลงชั่วคราว แต่ไม่ได้หายไป",
            "general": "เมื่อกลับหัว ไฟของไพ่ถูกปิดกั้นหรือกระจัดกระจาย เล็งให้ดีก่อนลงมือ",
        },
        "cups": {
            "love": "ไพ่กลับหัวในเรื่องรัก ความรู้สึกถูกเก็บไว้ ไม่ได้รับตอบ หรือสับสน พูดสิ่งที่รู้สึกจริงๆ",
            "career": "ไพ่กลับหัวในงาน งานดูว่างเปล่า หรือความรู้สึกต่อผู้คนบดบังงาน",
            "finance": ("ไพ่กลับหัวเรื่องเงิน การใช้เงินตามอารมณ์หรือความรู้สึกผิดเรื่องเงินต้องมองอย่างใจเย็น"),
            "health": "ไพ่กลับหัวเรื่องสุขภาพ ความรู้สึกที่อัดอั้นกดทับคุณ ลองเปิดใจให้ใครสักคน",
            "family": "ไพ่กลับหัวในครอบครัว ความใกล้ชิดตึงเครียด แผลเก่าต้องการคำพูดที่อ่อนโยน",
            "education": "ไพ่กลับหัวในการเรียน ใจคุณยังไม่อยู่กับมันตอนนี้ ลองถามตัวเองว่าทำไม",
            "personal_growth": "ไพ่กลับหัวสำหรับการเติบโต คุณอาจซ่อนความรู้สึกแม้แต่จากตัวเอง",
            "spiritual": "ไพ่กลับหัวในทางจิตวิญญาณ ญาณหยั่งรู้ถูกกลบ ความเงียบช่วยให้ได้ยินอีกครั้ง",
            "general": "เมื่อกลับหัว น้ำของไพ่ติดขัด ความรู้สึกถูกเก็บกดหรือล้นทะลัก",
        },
        "swords": {
            "love": "ไพ่กลับหัวในเรื่องรัก คำพูดไม่ได้ถูกพูดหรือออกมาแหลมคม เคลียร์กันอย่างอ่อนโยน",
            "career": "ไพ่กลับหัวในงาน การตัดสินใจค้างหรือบทสนทนาผิดทาง ตรวจข้อเท็จจริงให้ชัด",
            "finance": "ไพ่กลับหัวเรื่องเงิน ความกังวลบิดตัวเลข มองใหม่ด้วยหัวที่โล่ง",
            "health": "ไพ่กลับหัวเรื่องสุขภาพ ความคิดที่วิ่งไม่หยุดรบกวนการพัก ทำใจให้สงบก่อน",
            "family": "ไพ่กลับหัวในครอบครัว ความเข้าใจผิดสะสม พูดให้ชัดครั้งเดียวอย่างใจเย็น",
            "education": "ไพ่กลับหัวในการเรียน สมาธิหลุด การอ่านทีละสั้นๆ จะช่วยได้มากกว่า",
            "personal_growth": "ไพ่กลับหัวสำหรับการเติบโต ความเชื่อเก่าเกี่ยวกับตัวเองต้องถูกตั้งคำถาม",
            "spiritual": "ไพ่กลับหัวในทางจิตวิญญาณ การคิดมากขวางการรู้ได้ด้วยใจ",
            "general": "เมื่อกลับหัว ลมของไพ่ขุ่นมัว ความสับสนมาก่อนความชัดเจน",
        },
        "pentacles": {
            "love": ("ไพ่กลับหัวในเรื่องรัก ความกังวลเรื่องปากท้องหรือความพยายามที่ไม่เท่ากันกดดันความสัมพันธ์"),
            "career": "ไพ่กลับหัวในงาน ความก้าวหน้าช้าลงหรือความพยายามไม่ได้ผลตอบแทน ดูว่าแรงไปลงที่ไหน",
            "finance": "ไพ่กลับหัวเรื่องเงิน แผนคลาดเคลื่อน ตึงไป หลวมไป หรือยังไม่ให้ผล",
            "health": "ไพ่กลับหัวเรื่องสุขภาพ กิจวัตรหลุดไป เริ่มใหม่ด้วยนิสัยเล็กๆ หนึ่งอย่าง",
            "family": "ไพ่กลับหัวในครอบครัว เรื่องเงินหรืองานบ้านสร้างความขัดแย้ง แบ่งภาระให้ยุติธรรม",
            "education": "ไพ่กลับหัวในการเรียน การฝึกฝนหยุดชะงัก ก้าวเล็กๆ ทุกวันจะเริ่มมันใหม่",
            "personal_growth": "ไพ่กลับหัวสำหรับการเติบโต พื้นดูสั่นคลอน สร้างกิจวัตรพื้นฐานขึ้นใหม่",
            "spiritual": "ไพ่กลับหัวในทางจิตวิญญาณ ความกังวลทางวัตถุเบียดชีวิตที่สงบออกไป",
            "general": "เมื่อกลับหัว ดินของไพ่ไม่มั่นคง เรื่องในทางปฏิบัติต้องการความใส่ใจ",
        },
        "major": {
            "love": "ไพ่ชุดใหญ่กลับหัว บทเรียนในความสัมพันธ์นี้กำลังถูกต่อต้าน",
            "career": "ไพ่ชุดใหญ่กลับหัว จุดเปลี่ยนในงานแค่ล่าช้า ไม่ได้ถูกยกเลิก",
            "finance": "ไพ่ชุดใหญ่กลับหัว การเปลี่ยนแปลงที่ใหญ่กว่าเรื่องเงินกำลังถูกรั้งไว้",
            "health": "ไพ่ชุดใหญ่กลับหัว วงจรที่ลึกกว่าของการดูแลตัวเองรอให้คุณเผชิญ",
            "family": "ไพ่ชุดใหญ่กลับหัว บทหนึ่งของครอบครัวติดอยู่จนกว่าจะมีใครขยับก่อน",
            "education": "ไพ่ชุดใหญ่กลับหัว การเรียนช่วงนี้ยังมีบทเรียนที่ต้องเรียนรู้",
            "personal_growth": "ไพ่ชุดใหญ่กลับหัว บทเรียนใหญ่จะวนกลับมาจนกว่าคุณจะเข้าใจมัน",
            "spiritual": "ไพ่ชุดใหญ่กลับหัว เส้นทางของคุณขอความอดทนและความซื่อตรง",
            "general": "ไพ่ชุดใหญ่กลับหัว พลังที่ใหญ่กว่ากำลังเคลื่อนอย่างช้าๆ หรือเคลื่อนอยู่ภายใน",
        },
    },
}
