// The password reset page's strings, English and Thai (added to the shared tables of i18n.js).

import { addMessages } from "./i18n.js";

addMessages({
  en: {
    "reset.title": "Reset your password",
    "reset.request.intro": "Enter the email you signed up with. We will send you a link to choose a new password.",
    "reset.request.submit": "Send the link",
    "reset.request.sent":
      "If an account uses this email, we have sent a link to it. The link works once, for a limited time. Check your spam folder too.",
    "reset.back": "Back to sign in",
    "reset.choose.title": "Choose a new password",
    "reset.password": "New password (8+ characters)",
    "reset.password2": "New password again",
    "reset.choose.submit": "Set the new password",
    "reset.mismatch": "The two passwords are not the same.",
    "reset.short": "The password needs at least 8 characters.",
    "reset.done.title": "Your password is changed",
    "reset.done.text": "You were signed out on every other device. Sign in with your new password.",
    "reset.signin": "Sign in",
    "problem.invalid_reset_token": "This link has expired or was already used. Ask for a new one below.",
  },
  th: {
    "reset.title": "ตั้งรหัสผ่านใหม่",
    "reset.request.intro": "กรอกอีเมลที่คุณใช้สมัคร เราจะส่งลิงก์สำหรับตั้งรหัสผ่านใหม่ไปให้",
    "reset.request.submit": "ส่งลิงก์",
    "reset.request.sent":
      "ถ้ามีบัญชีที่ใช้อีเมลนี้ เราได้ส่งลิงก์ไปให้แล้ว ลิงก์ใช้ได้ครั้งเดียวภายในเวลาจำกัด ถ้าไม่เห็น ลองดูในโฟลเดอร์สแปม",
    "reset.back": "กลับไปหน้าเข้าสู่ระบบ",
    "reset.choose.title": "เลือกรหัสผ่านใหม่",
    "reset.password": "รหัสผ่านใหม่ (8 ตัวอักษรขึ้นไป)",
    "reset.password2": "พิมพ์รหัสผ่านใหม่อีกครั้ง",
    "reset.choose.submit": "บันทึกรหัสผ่านใหม่",
    "reset.mismatch": "รหัสผ่านทั้งสองช่องไม่ตรงกัน",
    "reset.short": "รหัสผ่านต้องมีอย่างน้อย 8 ตัวอักษร",
    "reset.done.title": "เปลี่ยนรหัสผ่านแล้ว",
    "reset.done.text": "อุปกรณ์อื่นทั้งหมดออกจากระบบแล้ว เข้าสู่ระบบด้วยรหัสผ่านใหม่ได้เลย",
    "reset.signin": "เข้าสู่ระบบ",
    "problem.invalid_reset_token": "ลิงก์นี้หมดอายุหรือถูกใช้ไปแล้ว ขอลิงก์ใหม่ได้ด้านล่าง",
  },
});
