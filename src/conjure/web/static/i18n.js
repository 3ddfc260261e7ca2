// Thai and English strings for both pages (pages add theirs with addMessages); problem codes map to people's words here.

const MESSAGES = {
  en: {
    "app.title": "Conjure Tarot",
    "app.tagline": "Ask the cards. Pay only when the reading arrives.",
    "lang.toggle": "ไทย",
    "auth.signup": "Sign up",
    "auth.login": "Log in",
    "auth.logout": "Log out",
    "auth.email": "Email",
    "auth.password": "Password (8+ characters)",
    "auth.name": "Name (optional)",
    "auth.invite": "Invite code (optional)",
    "auth.submit.signup": "Create account",
    "auth.submit.login": "Log in",
    "auth.bonus": "New accounts get {n} free stars.",
    "auth.telegram": "Signing in with Telegram…",
    "auth.hello": "Hello, {name}",
    "auth.forgot": "Forgot password?",
    "wallet.title": "Wallet",
    "wallet.stars": "Stars",
    "wallet.coins": "Coins",
    "wallet.held": "Held",
    "wallet.refresh": "Refresh",
    "wallet.ledger": "Ledger",
    "ask.title": "Ask a question",
    "ask.placeholder": "What should I focus on in my career this month?",
    "ask.rule": "8–180 characters, one clear question. Costs 1 star, charged only on success.",
    "ask.count": "{n}/180",
    "ask.short": "Too short: at least 8 characters ({n} now).",
    "ask.long": "Too long: at most 180 characters ({n} now).",
    "ask.ok": "Ready to ask.",
    "ask.nostars": "You have no available stars: exchange coins or buy stars below.",
    "ask.submit": "Draw the cards",
    "progress.title": "Your reading",
    "step.queued": "Queued",
    "step.filtering": "Checking the question",
    "step.analyzing": "Understanding it",
    "step.drawing": "Drawing cards",
    "step.reading": "Writing the reading",
    "step.done": "Done",
    "status.queued": "Waiting for a reader…",
    "status.processing": "The cards are being read…",
    "status.succeeded": "Your reading is ready.",
    "status.failed": "The reading could not be made. Nothing was charged.",
    "status.dlq": "The reading could not be made after several tries. Nothing was charged.",
    "status.canceled": "The reading was canceled. Nothing was charged.",
    "status.released": "Your held star was returned.",
    "card.upright": "Upright",
    "card.reversed": "Reversed",
    "card.major": "Major arcana",
    "card.minor": "Minor arcana",
    "result.analysis": "Reading of your question",
    "history.title": "Past readings",
    "history.empty": "No readings yet.",
    "history.more": "Show more",
    "invite.title": "Invite friends",
    "invite.text": "Friends who sign up with your code earn you both coins.",
    "invite.copy": "Copy link",
    "invite.copied": "Copied!",
    "confirm.cancel": "Cancel",
    "invite.total": "Friends invited: {n}",
    "exchange.title": "Exchange coins",
    "exchange.stars": "Stars to get",
    "exchange.cost": "Costs {coins} coins ({rate} coins per star).",
    "exchange.submit": "Exchange",
    "exchange.done": "Exchanged {coins} coins for {stars} star(s).",
    "buy.title": "Buy stars",
    "buy.bonus": "+{n} bonus",
    "buy.button": "Buy",
    "buy.off": "Buying stars is not available yet. You can still earn coins by inviting friends and exchange them for stars.",
    "buy.pay": "Pay {price}",
    "buy.cancel": "Cancel",
    "buy.paid": "Payment received: {n} stars added.",
    "buy.processing": "Payment is processing; stars arrive when it clears.",
    "error.network": "Cannot reach the server. Check your connection and try again.",
    "error.unexpected": "Something went wrong. Please try again.",
    "error.script": "Could not load the payment form. Check your connection and try again.",
    "upload.refused": "The photo could not be uploaded (the link may have expired). Choose it again.",
    "upload.failed": "The photo could not be uploaded. Check your connection and choose it again.",
    "admin.title": "Operator console",
    "admin.login": "Log in with an admin account",
    "admin.queue": "Queue",
    "admin.depth": "Queue depth",
    "admin.inflight": "In flight",
    "admin.jobs": "Recent jobs",
    "admin.dlq": "Dead-letter queue",
    "admin.dlq.empty": "The DLQ is empty.",
    "admin.invites": "Flagged inviters",
    "admin.invites.hint": "Invite bursts and reward caps reached: possibly scripted sign-ups.",
    "admin.invites.empty": "No flagged inviters.",
    "col.flagged": "Flagged",
    "col.invites": "Invites",
    "col.reasons": "Why",
    "admin.redrive": "Re-drive",
    "admin.redriven": "Job {id} re-driven.",
    "admin.wallet": "User wallet and ledger",
    "admin.userid": "User id",
    "admin.lookup": "Look up",
    "admin.autorefresh": "Auto-refresh",
    "admin.refresh": "Refresh",
    "admin.nojobs": "No jobs yet.",
    "col.id": "Job",
    "col.kind": "Kind",
    "col.status": "Status",
    "col.attempts": "Tries",
    "col.duration": "Duration",
    "col.created": "Created",
    "col.user": "User",
    "col.error": "Error",
    "col.type": "Type",
    "col.amount": "Amount",
    "col.currency": "Currency",
    "col.when": "When",
    "col.actions": "",
    // People-facing text for the API's problem codes (api.js userMessage); details go to the console.
    "problem.bad_request": "That request did not work. Please try again.",
    "problem.malformed_json": "That request did not work. Please reload the page and try again.",
    "problem.unauthorized": "Please sign in again.",
    "problem.invalid_token": "Your session has ended. Please sign in again.",
    "problem.token_expired": "Your session has ended. Please sign in again.",
    "problem.invalid_refresh_token": "Your session has ended. Please sign in again.",
    "problem.refresh_token_reused": "For your safety you were signed out. Please sign in again.",
    "problem.invalid_credentials": "That email and password do not match an account.",
    "problem.invalid_init_data": "Telegram could not confirm who you are. Close the app and open it again from the bot.",
    "problem.telegram_not_configured": "Signing in with Telegram is not available here. Use email instead.",
    "problem.email_taken": "An account with this email already exists. Log in instead.",
    "problem.insufficient_stars": "You need at least 1 available star for this. Exchange coins or buy stars.",
    "problem.insufficient_coins": "You do not have enough coins for that exchange.",
    "problem.forbidden": "Your account cannot do that.",
    "problem.not_found": "We could not find that. It may have been removed.",
    "problem.object_not_found": "That image is no longer available.",
    "problem.link_expired": "That link has expired. Reload the page to get a fresh one.",
    "problem.conflict": "That was already done. Reload the page to see the latest.",
    "problem.idempotency_key_reused": "That was already sent. Reload the page to see the latest.",
    "problem.job_not_cancelable": "It is already finished and cannot be canceled.",
    "problem.request_too_large": "That is too long. Please shorten it.",
    "problem.rate_limited": "Too many requests at once. Please wait {s} seconds and try again.",
    "problem.unknown_package": "That package is no longer offered. Reload the page to see the current ones.",
    "problem.payments_not_configured": "Buying stars is not available yet. You can still earn coins by inviting friends.",
    "problem.payment_provider_error": "The payment could not be started. No money was taken; please try again later.",
    "problem.not_ready": "The service is starting up. Please try again in a moment.",
    "problem.internal_error": "Something went wrong on our side. Please try again.",
    "problem.server": "Something went wrong on our side. Please try again.",
    "problem.generic": "That did not work. Please try again.",
    "problem.unavailable": "The service is busy right now. Please try again in a moment.",
    "field.email": "Enter a valid email address.",
    "field.password": "The password needs at least 8 characters.",
    "field.name": "The name is too long, or has characters that are not allowed (control characters, or ones that change the text's direction).",
    "field.invite_code": "That invite code is not valid.",
    "field.question": "The question needs 8–180 characters, without special control characters.",
    "field.prompt": "The description needs 3–1000 characters.",
    "field.size": "Choose one of the offered sizes.",
    "field.stars": "Enter a whole number of stars, 1 or more.",
    "field.package": "Choose one of the packages.",
    "field.generic": "Please check what you entered.",
    // Why a job ended without a result; always says what happened to the star.
    "job.question_not_allowed": "The cards cannot answer this question, so nothing was charged.",
    "job.ai_not_configured": "Readings are not available right now. Nothing was charged.",
    "job.busy": "Our reader is overloaded right now. Nothing was charged; please try again in a few minutes.",
    "job.generic": "Something went wrong, so nothing was charged. Please try again.",
    "job.canceled": "Canceled. Nothing was charged.",
    "tx.signup_bonus": "Welcome bonus",
    "tx.invite_reward": "Invite reward",
    "tx.purchase": "Purchase",
    "tx.grant": "Gift",
    "tx.revoke": "Correction",
    "tx.hold": "Held for a request",
    "tx.capture": "Paid",
    "tx.release": "Returned",
    "tx.exchange": "Exchange",
    "tx.clawback": "Refund reversal",
    "currency.star": "stars",
    "currency.coin": "coins",
    "history.status.succeeded": "Done",
    "history.status.failed": "Not read",
    "history.status.dlq": "Not read",
    "history.status.canceled": "Canceled",
    "history.status.queued": "Waiting",
    "history.status.processing": "Reading",
    "tag.category": "Topic",
    "tag.emotion": "Feeling",
    "tag.timeframe": "Time",
    "tag.themes": "Themes",
    "category.love": "Love",
    "category.career": "Career",
    "category.finance": "Money",
    "category.health": "Health",
    "category.family": "Family",
    "category.education": "Study",
    "category.personal_growth": "Personal growth",
    "category.spiritual": "Spiritual",
    "category.general": "General",
    "emotion.anxious": "Worried",
    "emotion.sad": "Sad",
    "emotion.confused": "Unsure",
    "emotion.frustrated": "Frustrated",
    "emotion.hopeful": "Hopeful",
    "emotion.curious": "Curious",
    "timeframe.past": "The past",
    "timeframe.present": "Now",
    "timeframe.near_future": "The near future",
    "timeframe.long_term": "The long run",
    "timeframe.unspecified": "Any time",
    "theme.new beginnings": "New beginnings",
    "theme.decision": "A decision",
    "theme.reconciliation": "Reconciliation",
    "theme.moving": "Moving",
    "theme.success": "Success",
    "theme.trust": "Trust",
    "result.cards": "The cards",
    "result.overview": "The whole picture",
    "result.advice": "Advice",
    "result.offline": "Read from the cards' traditional meanings.",
    "card.back": "Card back",
    "card.drawing": "Drawing card {n} of {total}…",
    "card.court.11": "Page",
    "card.court.12": "Knight",
    "card.court.13": "Queen",
    "card.court.14": "King",
    "step.now": "{step}…",
    "buy.unavailable": "Buying stars is not available right now. Please try again later.",
    "auth.session_over": "Your session has ended. Please sign in again.",
  },
  th: {
    "app.title": "Conjure ไพ่ทาโรต์",
    "app.tagline": "ถามไพ่ได้เลย จ่ายเมื่อได้คำทำนายเท่านั้น",
    "lang.toggle": "EN",
    "auth.signup": "สมัครสมาชิก",
    "auth.login": "เข้าสู่ระบบ",
    "auth.logout": "ออกจากระบบ",
    "auth.email": "อีเมล",
    "auth.password": "รหัสผ่าน (8 ตัวอักษรขึ้นไป)",
    "auth.name": "ชื่อ (ไม่บังคับ)",
    "auth.invite": "รหัสเชิญ (ไม่บังคับ)",
    "auth.submit.signup": "สร้างบัญชี",
    "auth.submit.login": "เข้าสู่ระบบ",
    "auth.bonus": "บัญชีใหม่ได้รับดาวฟรี {n} ดวง",
    "auth.telegram": "กำลังเข้าสู่ระบบด้วย Telegram…",
    "auth.hello": "สวัสดี {name}",
    "auth.forgot": "ลืมรหัสผ่าน?",
    "wallet.title": "กระเป๋า",
    "wallet.stars": "ดาว",
    "wallet.coins": "เหรียญ",
    "wallet.held": "กันไว้",
    "wallet.refresh": "รีเฟรช",
    "wallet.ledger": "รายการเคลื่อนไหว",
    "ask.title": "ตั้งคำถาม",
    "ask.placeholder": "เดือนนี้ฉันควรโฟกัสเรื่องอะไรในการงาน?",
    "ask.rule": "8–180 ตัวอักษร คำถามเดียวที่ชัดเจน ใช้ 1 ดาว หักเมื่อทำนายสำเร็จเท่านั้น",
    "ask.count": "{n}/180",
    "ask.short": "สั้นเกินไป: อย่างน้อย 8 ตัวอักษร (ตอนนี้ {n})",
    "ask.long": "ยาวเกินไป: ไม่เกิน 180 ตัวอักษร (ตอนนี้ {n})",
    "ask.ok": "พร้อมถามแล้ว",
    "ask.nostars": "คุณไม่มีดาวที่ใช้ได้ แลกเหรียญหรือซื้อดาวด้านล่าง",
    "ask.submit": "เปิดไพ่",
    "progress.title": "คำทำนายของคุณ",
    "step.queued": "รอคิว",
    "step.filtering": "ตรวจคำถาม",
    "step.analyzing": "วิเคราะห์คำถาม",
    "step.drawing": "สุ่มไพ่",
    "step.reading": "เขียนคำทำนาย",
    "step.done": "เสร็จแล้ว",
    "status.queued": "กำลังรอหมอดู…",
    "status.processing": "กำลังอ่านไพ่…",
    "status.succeeded": "คำทำนายของคุณพร้อมแล้ว",
    "status.failed": "ไม่สามารถทำนายได้ ไม่มีการหักดาว",
    "status.dlq": "ทำนายไม่สำเร็จหลังลองหลายครั้ง ไม่มีการหักดาว",
    "status.canceled": "ยกเลิกการทำนายแล้ว ไม่มีการหักดาว",
    "status.released": "คืนดาวที่กันไว้ให้แล้ว",
    "card.upright": "ไพ่ตั้ง",
    "card.reversed": "ไพ่กลับหัว",
    "card.major": "ไพ่ชุดใหญ่",
    "card.minor": "ไพ่ชุดเล็ก",
    "result.analysis": "การวิเคราะห์คำถาม",
    "history.title": "คำทำนายที่ผ่านมา",
    "history.empty": "ยังไม่มีคำทำนาย",
    "history.more": "ดูเพิ่ม",
    "invite.title": "ชวนเพื่อน",
    "invite.text": "เพื่อนที่สมัครด้วยรหัสของคุณ ได้รับเหรียญทั้งคู่",
    "invite.copy": "คัดลอกลิงก์",
    "invite.copied": "คัดลอกแล้ว!",
    "confirm.cancel": "ยกเลิก",
    "invite.total": "ชวนเพื่อนแล้ว: {n} คน",
    "exchange.title": "แลกเหรียญ",
    "exchange.stars": "จำนวนดาวที่ต้องการ",
    "exchange.cost": "ใช้ {coins} เหรียญ ({rate} เหรียญต่อดาว)",
    "exchange.submit": "แลก",
    "exchange.done": "แลก {coins} เหรียญ เป็น {stars} ดาวแล้ว",
    "buy.title": "ซื้อดาว",
    "buy.bonus": "+{n} โบนัส",
    "buy.button": "ซื้อ",
    "buy.off": "ยังซื้อดาวไม่ได้ในตอนนี้ แต่คุณยังได้เหรียญจากการชวนเพื่อน แล้วนำมาแลกเป็นดาวได้",
    "buy.pay": "ชำระ {price}",
    "buy.cancel": "ยกเลิก",
    "buy.paid": "ได้รับการชำระเงินแล้ว: เพิ่ม {n} ดาว",
    "buy.processing": "กำลังดำเนินการชำระเงิน ดาวจะเข้าเมื่อเสร็จสิ้น",
    "error.network": "เชื่อมต่อเซิร์ฟเวอร์ไม่ได้ ตรวจสอบอินเทอร์เน็ตแล้วลองอีกครั้ง",
    "error.unexpected": "เกิดข้อผิดพลาด กรุณาลองอีกครั้ง",
    "error.script": "โหลดแบบฟอร์มชำระเงินไม่สำเร็จ ตรวจสอบอินเทอร์เน็ตแล้วลองอีกครั้ง",
    "upload.refused": "อัปโหลดรูปไม่สำเร็จ (ลิงก์อาจหมดอายุแล้ว) กรุณาเลือกรูปอีกครั้ง",
    "upload.failed": "อัปโหลดรูปไม่สำเร็จ ตรวจสอบอินเทอร์เน็ตแล้วเลือกรูปอีกครั้ง",
    "admin.title": "คอนโซลผู้ดูแล",
    "admin.login": "เข้าสู่ระบบด้วยบัญชีผู้ดูแล",
    "admin.queue": "คิว",
    "admin.depth": "งานรอคิว",
    "admin.inflight": "กำลังทำ",
    "admin.jobs": "งานล่าสุด",
    "admin.dlq": "คิวงานล้มเหลว (DLQ)",
    "admin.dlq.empty": "DLQ ว่าง",
    "admin.invites": "ผู้เชิญที่ถูกทำเครื่องหมาย",
    "admin.invites.hint": "การเชิญจำนวนมากในเวลาสั้นหรือถึงเพดานรางวัล: อาจเป็นการสมัครด้วยสคริปต์",
    "admin.invites.empty": "ไม่มีผู้เชิญที่ถูกทำเครื่องหมาย",
    "col.flagged": "ถูกทำเครื่องหมาย",
    "col.invites": "การเชิญ",
    "col.reasons": "เหตุผล",
    "admin.redrive": "ส่งใหม่",
    "admin.redriven": "ส่งงาน {id} ใหม่แล้ว",
    "admin.wallet": "กระเป๋าและรายการของผู้ใช้",
    "admin.userid": "รหัสผู้ใช้",
    "admin.lookup": "ค้นหา",
    "admin.autorefresh": "รีเฟรชอัตโนมัติ",
    "admin.refresh": "รีเฟรช",
    "admin.nojobs": "ยังไม่มีงาน",
    "col.id": "งาน",
    "col.kind": "ประเภท",
    "col.status": "สถานะ",
    "col.attempts": "ครั้ง",
    "col.duration": "ใช้เวลา",
    "col.created": "สร้างเมื่อ",
    "col.user": "ผู้ใช้",
    "col.error": "ข้อผิดพลาด",
    "col.type": "ชนิด",
    "col.amount": "จำนวน",
    "col.currency": "สกุล",
    "col.when": "เมื่อ",
    "col.actions": "",
    "problem.bad_request": "ดำเนินการไม่สำเร็จ กรุณาลองอีกครั้ง",
    "problem.malformed_json": "ดำเนินการไม่สำเร็จ กรุณาโหลดหน้าใหม่แล้วลองอีกครั้ง",
    "problem.unauthorized": "กรุณาเข้าสู่ระบบอีกครั้ง",
    "problem.invalid_token": "เซสชันหมดอายุแล้ว กรุณาเข้าสู่ระบบอีกครั้ง",
    "problem.token_expired": "เซสชันหมดอายุแล้ว กรุณาเข้าสู่ระบบอีกครั้ง",
    "problem.invalid_refresh_token": "เซสชันหมดอายุแล้ว กรุณาเข้าสู่ระบบอีกครั้ง",
    "problem.refresh_token_reused": "เพื่อความปลอดภัย ระบบได้ออกจากระบบให้คุณแล้ว กรุณาเข้าสู่ระบบอีกครั้ง",
    "problem.invalid_credentials": "อีเมลหรือรหัสผ่านไม่ถูกต้อง",
    "problem.invalid_init_data": "Telegram ยืนยันตัวตนของคุณไม่ได้ ปิดแอปแล้วเปิดใหม่จากบอท",
    "problem.telegram_not_configured": "ยังเข้าสู่ระบบด้วย Telegram ที่นี่ไม่ได้ กรุณาใช้อีเมลแทน",
    "problem.email_taken": "มีบัญชีที่ใช้อีเมลนี้แล้ว กรุณาเข้าสู่ระบบแทน",
    "problem.insufficient_stars": "ต้องมีดาวที่ใช้ได้อย่างน้อย 1 ดวง แลกเหรียญหรือซื้อดาวก่อน",
    "problem.insufficient_coins": "เหรียญของคุณไม่พอสำหรับการแลกนี้",
    "problem.forbidden": "บัญชีของคุณทำรายการนี้ไม่ได้",
    "problem.not_found": "ไม่พบสิ่งที่ค้นหา อาจถูกลบไปแล้ว",
    "problem.object_not_found": "รูปนี้ไม่มีแล้ว",
    "problem.link_expired": "ลิงก์หมดอายุแล้ว โหลดหน้าใหม่เพื่อรับลิงก์ใหม่",
    "problem.conflict": "รายการนี้ทำไปแล้ว โหลดหน้าใหม่เพื่อดูข้อมูลล่าสุด",
    "problem.idempotency_key_reused": "ส่งรายการนี้ไปแล้ว โหลดหน้าใหม่เพื่อดูข้อมูลล่าสุด",
    "problem.job_not_cancelable": "รายการนี้เสร็จแล้ว ยกเลิกไม่ได้",
    "problem.request_too_large": "ข้อความยาวเกินไป กรุณาย่อให้สั้นลง",
    "problem.rate_limited": "ส่งคำขอถี่เกินไป กรุณารอ {s} วินาทีแล้วลองใหม่",
    "problem.unknown_package": "แพ็กเกจนี้ไม่มีแล้ว โหลดหน้าใหม่เพื่อดูแพ็กเกจปัจจุบัน",
    "problem.payments_not_configured": "ยังซื้อดาวไม่ได้ในตอนนี้ แต่คุณยังได้เหรียญจากการชวนเพื่อน",
    "problem.payment_provider_error": "เริ่มการชำระเงินไม่ได้ ยังไม่มีการตัดเงิน กรุณาลองใหม่ภายหลัง",
    "problem.not_ready": "ระบบกำลังเริ่มทำงาน กรุณาลองใหม่อีกสักครู่",
    "problem.internal_error": "ระบบของเรามีปัญหา กรุณาลองอีกครั้ง",
    "problem.server": "ระบบของเรามีปัญหา กรุณาลองอีกครั้ง",
    "problem.generic": "ทำรายการไม่สำเร็จ กรุณาลองอีกครั้ง",
    "problem.unavailable": "ระบบกำลังยุ่ง กรุณาลองใหม่อีกสักครู่",
    "field.email": "กรุณากรอกอีเมลให้ถูกต้อง",
    "field.password": "รหัสผ่านต้องมีอย่างน้อย 8 ตัวอักษร",
    "field.name": "ชื่อยาวเกินไป หรือมีอักขระที่ใช้ไม่ได้ (อักขระควบคุม หรืออักขระที่เปลี่ยนทิศทางข้อความ)",
    "field.invite_code": "รหัสเชิญไม่ถูกต้อง",
    "field.question": "คำถามต้องยาว 8–180 ตัวอักษร และไม่มีอักขระควบคุมพิเศษ",
    "field.prompt": "คำบรรยายต้องยาว 3–1000 ตัวอักษร",
    "field.size": "กรุณาเลือกขนาดที่มีให้",
    "field.stars": "กรุณากรอกจำนวนดาวเป็นจำนวนเต็ม ตั้งแต่ 1 ขึ้นไป",
    "field.package": "กรุณาเลือกแพ็กเกจ",
    "field.generic": "กรุณาตรวจสอบข้อมูลที่กรอก",
    "job.question_not_allowed": "ไพ่ตอบคำถามนี้ไม่ได้ จึงไม่มีการหักดาว",
    "job.ai_not_configured": "ยังทำนายไม่ได้ในตอนนี้ ไม่มีการหักดาว",
    "job.busy": "หมอดูของเรายุ่งมากในตอนนี้ ไม่มีการหักดาว กรุณาลองใหม่ในอีกไม่กี่นาที",
    "job.generic": "เกิดข้อผิดพลาด จึงไม่มีการหักดาว กรุณาลองอีกครั้ง",
    "job.canceled": "ยกเลิกแล้ว ไม่มีการหักดาว",
    "tx.signup_bonus": "โบนัสต้อนรับ",
    "tx.invite_reward": "รางวัลชวนเพื่อน",
    "tx.purchase": "ซื้อ",
    "tx.grant": "ของขวัญ",
    "tx.revoke": "ปรับปรุงยอด",
    "tx.hold": "กันไว้สำหรับคำขอ",
    "tx.capture": "ชำระแล้ว",
    "tx.release": "คืนให้แล้ว",
    "tx.exchange": "แลกเปลี่ยน",
    "tx.clawback": "ยกเลิกการคืนเงิน",
    "currency.star": "ดาว",
    "currency.coin": "เหรียญ",
    "history.status.succeeded": "เสร็จแล้ว",
    "history.status.failed": "ไม่ได้ทำนาย",
    "history.status.dlq": "ไม่ได้ทำนาย",
    "history.status.canceled": "ยกเลิก",
    "history.status.queued": "รอคิว",
    "history.status.processing": "กำลังทำนาย",
    "tag.category": "เรื่อง",
    "tag.emotion": "ความรู้สึก",
    "tag.timeframe": "ช่วงเวลา",
    "tag.themes": "ประเด็น",
    "category.love": "ความรัก",
    "category.career": "การงาน",
    "category.finance": "การเงิน",
    "category.health": "สุขภาพ",
    "category.family": "ครอบครัว",
    "category.education": "การเรียน",
    "category.personal_growth": "การพัฒนาตัวเอง",
    "category.spiritual": "จิตวิญญาณ",
    "category.general": "ทั่วไป",
    "emotion.anxious": "กังวล",
    "emotion.sad": "เศร้า",
    "emotion.confused": "ไม่แน่ใจ",
    "emotion.frustrated": "หงุดหงิด",
    "emotion.hopeful": "มีความหวัง",
    "emotion.curious": "อยากรู้",
    "timeframe.past": "อดีต",
    "timeframe.present": "ตอนนี้",
    "timeframe.near_future": "อนาคตอันใกล้",
    "timeframe.long_term": "ระยะยาว",
    "timeframe.unspecified": "ไม่ระบุเวลา",
    "theme.new beginnings": "การเริ่มต้นใหม่",
    "theme.decision": "การตัดสินใจ",
    "theme.reconciliation": "การคืนดี",
    "theme.moving": "การย้าย",
    "theme.success": "ความสำเร็จ",
    "theme.trust": "ความไว้ใจ",
    "result.cards": "ไพ่ที่เปิดได้",
    "result.overview": "ภาพรวม",
    "result.advice": "คำแนะนำ",
    "result.offline": "ทำนายจากความหมายดั้งเดิมของไพ่",
    "card.back": "หลังไพ่",
    "card.drawing": "กำลังเปิดไพ่ใบที่ {n} จาก {total}…",
    "card.court.11": "เพจ",
    "card.court.12": "อัศวิน",
    "card.court.13": "ราชินี",
    "card.court.14": "ราชา",
    "step.now": "{step}…",
    "buy.unavailable": "ยังซื้อดาวไม่ได้ในตอนนี้ กรุณาลองใหม่ภายหลัง",
    "auth.session_over": "เซสชันหมดอายุแล้ว กรุณาเข้าสู่ระบบอีกครั้ง",
  },
};

const LANG_KEY = "conjure.lang";

/** Add a page's own strings (e.g. PixelPop's) to the shared tables. */
export function addMessages(messages) {
  for (const [code, table] of Object.entries(messages)) Object.assign((MESSAGES[code] ??= {}), table);
}

function initialLang() {
  const saved = localStorage.getItem(LANG_KEY);
  if (saved && saved in MESSAGES) return saved;
  return (navigator.language || "en").toLowerCase().startsWith("th") ? "th" : "en";
}

let lang = initialLang();

export function currentLang() {
  return lang;
}

/** Whether the language has a chosen one saved (else a hint such as Telegram's language_code may pick). */
export function langChosen() {
  return Boolean(localStorage.getItem(LANG_KEY));
}

/** Use `code` without saving it as the person's choice (a hint); unknown codes are ignored. */
export function setLang(code, { save = true } = {}) {
  const next = String(code || "").toLowerCase().startsWith("th") ? "th" : "en";
  if (save) localStorage.setItem(LANG_KEY, next);
  if (next === lang) return;
  lang = next;
  applyI18n();
  document.dispatchEvent(new CustomEvent("langchange"));
}

export function has(key) {
  return key in MESSAGES[lang] || key in MESSAGES.en;
}

/** The string for `key` in the current language, with `{name}` placeholders filled from `vars`. */
export function t(key, vars = {}) {
  const text = MESSAGES[lang][key] ?? MESSAGES.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => (name in vars ? String(vars[name]) : `{${name}}`));
}

/**
 * `text` (a person's name, a key's name) in a <bdi> element: whatever its characters (a U+202E
 * stored before names were checked), it cannot reorder the text around it.
 */
export function isolated(text) {
  const el = document.createElement("bdi");
  el.textContent = String(text ?? "");
  return el;
}

/** `t(key, vars)` as strings and <bdi> elements (see `isolated`), one per filled placeholder: for `h()`. */
export function tIsolated(key, vars = {}) {
  const text = MESSAGES[lang][key] ?? MESSAGES.en[key] ?? key;
  return text
    .split(/(\{\w+\})/)
    .filter(Boolean)
    .map((piece) => {
      const name = /^\{(\w+)\}$/.exec(piece)?.[1];
      return name && name in vars ? isolated(vars[name]) : piece;
    });
}

/** `text` between U+2068 FIRST STRONG ISOLATE and U+2069 POP DIRECTIONAL ISOLATE: `isolated` for plain strings. */
export function isolate(text) {
  return `\u2068${text}\u2069`;
}

/** A raw tag from the API (`near_future`, `personal_growth`) as words: its translation, else de-snaked. */
export function tag(group, value) {
  const raw = String(value ?? "").trim();
  const key = `${group}.${raw.toLowerCase()}`;
  if (has(key)) return t(key);
  return raw.replace(/_/g, " ");
}

/** Fill every `data-i18n` (text), `data-i18n-placeholder` and `data-i18n-title` element under `root`. */
export function applyI18n(root = document) {
  document.documentElement.lang = lang;
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-placeholder]")) {
    el.placeholder = t(el.dataset.i18nPlaceholder);
  }
  for (const el of root.querySelectorAll("[data-i18n-title]")) el.title = t(el.dataset.i18nTitle);
}

/** Switch between Thai and English, remember the choice, and re-render static text. */
export function toggleLang() {
  setLang(lang === "th" ? "en" : "th");
}

export function formatDate(value) {
  if (!value) return "";
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return String(value);
  return date.toLocaleString(lang === "th" ? "th-TH" : "en-GB", { dateStyle: "medium", timeStyle: "short" });
}

export function formatTHB(satang) {
  return new Intl.NumberFormat(lang === "th" ? "th-TH" : "en-US", { style: "currency", currency: "THB" }).format(
    satang / 100,
  );
}
