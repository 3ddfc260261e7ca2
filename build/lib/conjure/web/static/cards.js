// The 78 card faces, drawn here as SVG from the card's suit, number or court rank, or major-arcana
// emblem (no image files, no third-party art). Only presentation attributes, no style="" (the CSP
// forbids inline styles), and no text from the server is ever put into the markup.

const GOLD = "#e8c15a";
const CREAM = "#f6ecd2";
const INK = "#2a1d44";

// Colour of each suit's field and symbols: fire, water, air, earth; majors are night and gold.
const PALETTE = {
  wands: { top: "#7a2e1c", bottom: "#2e120c", sym: "#f08a3c", accent: "#7fbf6a" },
  cups: { top: "#1d4f7a", bottom: "#0c1f33", sym: "#8fd3ff", accent: GOLD },
  swords: { top: "#4a5a78", bottom: "#1a2233", sym: "#dfe8f5", accent: GOLD },
  pentacles: { top: "#2f5e34", bottom: "#12240f", sym: GOLD, accent: "#b7e08a" },
  major: { top: "#3b2566", bottom: "#140c24", sym: GOLD, accent: CREAM },
};

const ROMAN = ["0", "I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII", "XIII", "XIV", "XV",
  "XVI", "XVII", "XVIII", "XIX", "XX", "XXI"];

// ---- suit symbols, drawn around (0, 0) at about 24 units tall ---------------------------------

function wand(c) {
  return `<g><rect x="-2.2" y="-13" width="4.4" height="26" rx="2" fill="#b07a45" stroke="${INK}" stroke-width="0.6"/>`
    + `<ellipse cx="-4.5" cy="-8" rx="3" ry="1.4" fill="${c.accent}" transform="rotate(-30 -4.5 -8)"/>`
    + `<ellipse cx="4.5" cy="-2" rx="3" ry="1.4" fill="${c.accent}" transform="rotate(30 4.5 -2)"/>`
    + `<ellipse cx="-4" cy="5" rx="2.6" ry="1.2" fill="${c.accent}" transform="rotate(-25 -4 5)"/>`
    + `<circle cx="0" cy="-13" r="2" fill="${c.sym}"/></g>`;
}

function cup(c) {
  return `<g stroke="${INK}" stroke-width="0.6"><path d="M-8 -11 H8 Q8 1 0 3 Q-8 1 -8 -11 Z" fill="${c.sym}"/>`
    + `<rect x="-1.3" y="2.5" width="2.6" height="6" fill="${c.accent}"/>`
    + `<path d="M-6 12 Q0 7 6 12 Z" fill="${c.accent}"/>`
    + `<ellipse cx="0" cy="-11" rx="8" ry="1.8" fill="${CREAM}"/></g>`;
}

function sword(c) {
  return `<g stroke="${INK}" stroke-width="0.6"><path d="M0 -14 L2.2 -10 L2.2 6 L-2.2 6 L-2.2 -10 Z" fill="${c.sym}"/>`
    + `<rect x="-7" y="6" width="14" height="2.4" rx="1" fill="${c.accent}"/>`
    + `<rect x="-1.2" y="8.4" width="2.4" height="4.6" fill="#8a5a34"/>`
    + `<circle cx="0" cy="13.8" r="1.8" fill="${c.accent}"/></g>`;
}

function pentacle(c) {
  return `<g><circle r="11" fill="${c.sym}" stroke="${INK}" stroke-width="0.8"/>`
    + `<circle r="8.6" fill="none" stroke="${INK}" stroke-width="0.5"/>`
    + `<path d="${starPath(5, 8, 3.2)}" fill="none" stroke="${INK}" stroke-width="0.9"/></g>`;
}

const SYMBOL = { wands: wand, cups: cup, swords: sword, pentacles: pentacle };

function starPath(points, outer, inner, cx = 0, cy = 0) {
  const steps = [];
  for (let i = 0; i < points * 2; i += 1) {
    const r = i % 2 === 0 ? outer : inner;
    const a = (Math.PI * i) / points - Math.PI / 2;
    steps.push(`${(cx + r * Math.cos(a)).toFixed(2)} ${(cy + r * Math.sin(a)).toFixed(2)}`);
  }
  return `M${steps.join(" L")} Z`;
}

const place = (x, y, scale, inner, rotate = 0) =>
  `<g transform="translate(${x} ${y}) rotate(${rotate}) scale(${scale})">${inner}</g>`;

// Where the pips of 2..10 sit, like a playing card's (x in 35/60/85, y from 42 to 158).
const PIPS = {
  2: [[60, 55], [60, 145]],
  3: [[60, 48], [60, 100], [60, 152]],
  4: [[38, 55], [82, 55], [38, 145], [82, 145]],
  5: [[38, 55], [82, 55], [60, 100], [38, 145], [82, 145]],
  6: [[38, 50], [82, 50], [38, 100], [82, 100], [38, 150], [82, 150]],
  7: [[38, 50], [82, 50], [60, 75], [38, 100], [82, 100], [38, 150], [82, 150]],
  8: [[38, 50], [82, 50], [60, 75], [38, 100], [82, 100], [60, 125], [38, 150], [82, 150]],
  9: [[38, 46], [82, 46], [38, 82], [82, 82], [60, 100], [38, 118], [82, 118], [38, 154], [82, 154]],
  10: [[38, 46], [82, 46], [60, 64], [38, 82], [82, 82], [38, 118], [82, 118], [60, 136], [38, 154], [82, 154]],
};

function ace(suit, c) {
  const rays = Array.from({ length: 12 }, (_, i) => {
    const a = (i * Math.PI) / 6;
    const x1 = 60 + 26 * Math.cos(a);
    const y1 = 100 + 26 * Math.sin(a);
    const x2 = 60 + 40 * Math.cos(a);
    const y2 = 100 + 40 * Math.sin(a);
    return `<line x1="${x1.toFixed(1)}" y1="${y1.toFixed(1)}" x2="${x2.toFixed(1)}" y2="${y2.toFixed(1)}"/>`;
  }).join("");
  return `<g stroke="${c.accent}" stroke-width="1.4" stroke-linecap="round" opacity="0.8">${rays}</g>`
    + `<circle cx="60" cy="100" r="24" fill="${CREAM}" opacity="0.12"/>`
    + place(60, 100, 2.4, SYMBOL[suit](c));
}

function pips(suit, n, c) {
  const scale = n <= 3 ? 1.25 : n <= 6 ? 1.05 : 0.9;
  return PIPS[n].map(([x, y]) => place(x, y, scale, SYMBOL[suit](c))).join("");
}

// ---- court cards: a robed figure, told apart by headwear (and the knight's horse) -------------

function court(suit, rank, c) {
  const robe = { 11: "#6d8fb3", 12: "#8a6d4a", 13: "#a34d7a", 14: "#b33a3a" }[rank];
  let art = "";
  if (rank === 12) {
    // The knight's horse: a head and neck rising behind the rider.
    art += `<path d="M28 150 C26 120 34 96 52 86 C58 74 70 70 76 76 L82 74 L80 84 C86 90 84 98 78 100`
      + ` C72 102 66 98 62 104 C58 116 60 134 64 150 Z" fill="#e9dfc9" stroke="${INK}" stroke-width="1"/>`
      + `<circle cx="72" cy="82" r="1.6" fill="${INK}"/>`;
  }
  // Throne arch for queen and king.
  if (rank >= 13) art += `<path d="M30 160 V80 Q60 52 90 80 V160" fill="none" stroke="${c.accent}" stroke-width="2" opacity="0.7"/>`;
  const fx = rank === 12 ? 70 : 60;
  art += `<path d="M${fx - 18} 160 L${fx - 12} 104 Q${fx} 96 ${fx + 12} 104 L${fx + 18} 160 Z" fill="${robe}" stroke="${INK}" stroke-width="1"/>`
    + `<circle cx="${fx}" cy="92" r="9" fill="#f1d3b3" stroke="${INK}" stroke-width="1"/>`;
  if (rank === 11) {
    art += `<path d="M${fx - 10} 88 Q${fx} 76 ${fx + 10} 88 Z" fill="${c.sym}" stroke="${INK}" stroke-width="0.8"/>`
      + `<path d="M${fx + 6} 82 Q${fx + 16} 70 ${fx + 18} 78" fill="none" stroke="${CREAM}" stroke-width="1.6"/>`;
  } else if (rank === 12) {
    art += `<path d="M${fx - 9} 90 Q${fx} 74 ${fx + 9} 90 Z" fill="#b9c3cf" stroke="${INK}" stroke-width="0.8"/>`
      + `<path d="M${fx} 76 Q${fx + 4} 66 ${fx + 10} 68" fill="none" stroke="#d94b3a" stroke-width="2"/>`;
  } else {
    const points = rank === 13 ? 3 : 5;
    const w = 18;
    const step = w / (points - 1);
    let d = `M${fx - w / 2} 86`;
    for (let i = 0; i < points; i += 1) {
      const x = fx - w / 2 + i * step;
      d += ` L${x} 74 L${Math.min(x + step / 2, fx + w / 2)} 82`;
    }
    d += ` L${fx + w / 2} 86 Z`;
    art += `<path d="${d}" fill="${GOLD}" stroke="${INK}" stroke-width="0.8"/>`;
  }
  // The suit symbol held up before the figure.
  art += place(fx - 22, 120, 1.15, SYMBOL[suit](c));
  return art;
}

// ---- the 22 major arcana: one emblem each -----------------------------------------------------

const G = (inner, attrs = "") => `<g ${attrs}>${inner}</g>`;
const sun = (cx, cy, r, rays = 12, colour = GOLD) =>
  G(
    Array.from({ length: rays }, (_, i) => {
      const a = (i * 2 * Math.PI) / rays;
      return `<line x1="${(cx + r * 1.2 * Math.cos(a)).toFixed(1)}" y1="${(cy + r * 1.2 * Math.sin(a)).toFixed(1)}" x2="${(cx + r * 1.8 * Math.cos(a)).toFixed(1)}" y2="${(cy + r * 1.8 * Math.sin(a)).toFixed(1)}"/>`;
    }).join(""),
    `stroke="${colour}" stroke-width="2" stroke-linecap="round"`,
  ) + `<circle cx="${cx}" cy="${cy}" r="${r}" fill="${colour}"/>`;
const moon = (cx, cy, r, fill = CREAM) =>
  `<path d="M${cx} ${cy - r} A${r} ${r} 0 1 0 ${cx} ${cy + r} A${r * 0.75} ${r} 0 1 1 ${cx} ${cy - r} Z" fill="${fill}"/>`;
const figure = (cx, cy, robe) =>
  `<path d="M${cx - 12} ${cy + 40} L${cx - 8} ${cy + 8} Q${cx} ${cy + 2} ${cx + 8} ${cy + 8} L${cx + 12} ${cy + 40} Z" fill="${robe}" stroke="${INK}"/>`
  + `<circle cx="${cx}" cy="${cy}" r="6.5" fill="#f1d3b3" stroke="${INK}"/>`;
const pillar = (x, fill) => `<rect x="${x}" y="62" width="12" height="96" fill="${fill}" stroke="${GOLD}"/>`;
const star = (cx, cy, r, fill = GOLD, points = 8) => `<path d="${starPath(points, r, r * 0.42, cx, cy)}" fill="${fill}"/>`;

const MAJOR = [
  // 0 The Fool: a sun, a cliff edge, a traveller stepping out with a bundle.
  () => sun(88, 56, 9) + `<path d="M20 160 L20 128 L70 120 L74 160 Z" fill="#6b5a3e"/>`
    + figure(56, 88, "#e0a040") + `<line x1="62" y1="96" x2="80" y2="80" stroke="#8a5a34" stroke-width="2"/>`
    + `<circle cx="81" cy="78" r="4" fill="#b33a3a"/>` + `<circle cx="42" cy="116" r="3" fill="${CREAM}"/>`,
  // I The Magician: infinity above, a raised wand, the four suits on the table.
  () => `<path d="M48 60 C40 52 40 68 48 60 C56 52 64 52 72 60 C80 68 80 52 72 60 C64 68 56 68 48 60 Z" fill="none" stroke="${GOLD}" stroke-width="2.4"/>`
    + figure(60, 84, "#b33a3a") + `<line x1="70" y1="92" x2="78" y2="70" stroke="${CREAM}" stroke-width="2.4"/>`
    + `<rect x="26" y="136" width="68" height="6" fill="#8a5a34"/>`
    + place(34, 130, 0.4, cup(PALETTE.cups)) + place(48, 130, 0.4, sword(PALETTE.swords))
    + place(72, 130, 0.4, pentacle(PALETTE.pentacles)) + place(86, 130, 0.4, wand(PALETTE.wands)),
  // II The High Priestess: two pillars, a crescent at her feet, the veil between.
  () => pillar(24, "#111") + pillar(84, CREAM) + `<text x="30" y="76" font-size="9" text-anchor="middle" fill="${CREAM}">B</text>`
    + `<text x="90" y="76" font-size="9" text-anchor="middle" fill="#111">J</text>`
    + figure(60, 88, "#4a74b0") + moon(60, 146, 9),
  // III The Empress: the Venus sign, wheat and a crown of stars.
  () => `<circle cx="60" cy="84" r="18" fill="none" stroke="${GOLD}" stroke-width="4"/>`
    + `<line x1="60" y1="102" x2="60" y2="134" stroke="${GOLD}" stroke-width="4"/><line x1="48" y1="120" x2="72" y2="120" stroke="${GOLD}" stroke-width="4"/>`
    + [0, 1, 2, 3, 4].map((i) => star(36 + i * 12, 54, 4, CREAM, 6)).join("")
    + [28, 92].map((x) => `<path d="M${x} 160 Q${x - 2} 140 ${x} 126 Q${x + 2} 140 ${x} 160" fill="#d9b451"/>`).join(""),
  // IV The Emperor: a stone throne with rams' heads, an ankh sceptre.
  () => `<rect x="34" y="70" width="52" height="86" fill="#7a6a5a" stroke="${INK}"/>`
    + `<path d="M34 76 q-10 -4 -8 8 q4 6 8 0" fill="none" stroke="${CREAM}" stroke-width="2"/><path d="M86 76 q10 -4 8 8 q-4 6 -8 0" fill="none" stroke="${CREAM}" stroke-width="2"/>`
    + figure(60, 92, "#b33a3a") + `<circle cx="76" cy="90" r="4" fill="none" stroke="${GOLD}" stroke-width="2"/><line x1="76" y1="94" x2="76" y2="118" stroke="${GOLD}" stroke-width="2"/><line x1="71" y1="100" x2="81" y2="100" stroke="${GOLD}" stroke-width="2"/>`,
  // V The Hierophant: the triple cross and two crossed keys.
  () => `<line x1="60" y1="48" x2="60" y2="120" stroke="${GOLD}" stroke-width="3"/>`
    + [58, 68, 78].map((y, i) => `<line x1="${50 - i * 3}" y1="${y}" x2="${70 + i * 3}" y2="${y}" stroke="${GOLD}" stroke-width="3"/>`).join("")
    + `<g stroke="${CREAM}" stroke-width="2.4" fill="none"><line x1="36" y1="156" x2="84" y2="128"/><line x1="84" y1="156" x2="36" y2="128"/>`
    + `<circle cx="33" cy="126" r="4"/><circle cx="87" cy="126" r="4"/></g>`,
  // VI The Lovers: two figures under a radiant sun.
  () => sun(60, 58, 10) + figure(40, 100, "#d98c8c") + figure(80, 100, "#8cb3d9")
    + `<path d="M60 126 c-6 -8 -14 0 0 10 c14 -10 6 -18 0 -10 Z" fill="#d94b6a"/>`,
  // VII The Chariot: a canopy of stars over a chariot, two sphinxes, black and white.
  () => `<rect x="34" y="86" width="52" height="40" fill="#6d7f99" stroke="${GOLD}"/>`
    + `<path d="M30 86 L90 86 L84 70 L36 70 Z" fill="#24315c"/>` + [44, 60, 76].map((x) => star(x, 78, 3.2, GOLD, 6)).join("")
    + `<circle cx="60" cy="100" r="6" fill="#f1d3b3" stroke="${INK}"/>`
    + `<circle cx="40" cy="132" r="8" fill="none" stroke="${GOLD}" stroke-width="2"/><circle cx="80" cy="132" r="8" fill="none" stroke="${GOLD}" stroke-width="2"/>`
    + `<path d="M24 160 q6 -16 18 -10 l0 10 Z" fill="#111"/><path d="M96 160 q-6 -16 -18 -10 l0 10 Z" fill="${CREAM}"/>`,
  // VIII Strength: infinity over a lion's head, gently held.
  () => `<path d="M48 56 C40 48 40 64 48 56 C56 48 64 48 72 56 C80 64 80 48 72 56 C64 64 56 64 48 56 Z" fill="none" stroke="${GOLD}" stroke-width="2.4"/>`
    + `<circle cx="60" cy="112" r="28" fill="#c9852e"/><circle cx="60" cy="112" r="18" fill="#e9b454"/>`
    + `<circle cx="53" cy="108" r="2" fill="${INK}"/><circle cx="67" cy="108" r="2" fill="${INK}"/><path d="M55 120 Q60 125 65 120" stroke="${INK}" fill="none" stroke-width="1.6"/>`,
  // IX The Hermit: a lantern holding a six-pointed star, on a staff.
  () => figure(50, 80, "#8a8a9a") + `<line x1="36" y1="76" x2="36" y2="160" stroke="#b07a45" stroke-width="3"/>`
    + `<rect x="62" y="84" width="18" height="24" rx="3" fill="#3a2a10" stroke="${GOLD}" stroke-width="1.6"/>`
    + star(71, 96, 7, "#fff3b0", 6) + `<line x1="71" y1="76" x2="71" y2="84" stroke="${GOLD}" stroke-width="1.6"/>`,
  // X Wheel of Fortune: an eight-spoked wheel.
  () => `<circle cx="60" cy="100" r="34" fill="none" stroke="${GOLD}" stroke-width="3"/><circle cx="60" cy="100" r="22" fill="none" stroke="${CREAM}" stroke-width="1.6"/>`
    + Array.from({ length: 8 }, (_, i) => {
      const a = (i * Math.PI) / 4;
      return `<line x1="60" y1="100" x2="${(60 + 34 * Math.cos(a)).toFixed(1)}" y2="${(100 + 34 * Math.sin(a)).toFixed(1)}" stroke="${GOLD}" stroke-width="1.6"/>`;
    }).join("") + `<circle cx="60" cy="100" r="5" fill="${GOLD}"/>`,
  // XI Justice: the scales and an upright sword.
  () => `<line x1="60" y1="50" x2="60" y2="150" stroke="${CREAM}" stroke-width="3"/><path d="M60 44 l4 8 h-8 Z" fill="${CREAM}"/>`
    + `<line x1="30" y1="80" x2="90" y2="80" stroke="${GOLD}" stroke-width="2.4"/>`
    + `<path d="M22 104 Q30 114 38 104 Z M82 104 Q90 114 98 104 Z" fill="${GOLD}"/>`
    + `<g stroke="${GOLD}" stroke-width="1"><line x1="30" y1="80" x2="22" y2="104"/><line x1="30" y1="80" x2="38" y2="104"/><line x1="90" y1="80" x2="82" y2="104"/><line x1="90" y1="80" x2="98" y2="104"/></g>`,
  // XII The Hanged Man: upside down from a living tree, a halo at his head.
  () => `<path d="M30 56 H90 M38 56 V160 M82 56 V160" stroke="#7a5a34" stroke-width="5" fill="none"/>`
    + `<g transform="rotate(180 60 104)">${figure(60, 92, "#4a74b0")}</g>` + `<circle cx="60" cy="116" r="11" fill="none" stroke="${GOLD}" stroke-width="2"/>`,
  // XIII Death: a white rose banner, a setting sun between two towers.
  () => `<rect x="22" y="108" width="14" height="52" fill="#5a5a6a"/><rect x="84" y="108" width="14" height="52" fill="#5a5a6a"/>`
    + `<path d="M36 150 A24 24 0 0 1 84 150 Z" fill="${GOLD}"/>`
    + `<line x1="50" y1="52" x2="50" y2="140" stroke="${CREAM}" stroke-width="2"/><rect x="50" y="54" width="34" height="26" fill="#111"/>`
    + [0, 72, 144, 216, 288].map((a) => `<ellipse cx="67" cy="61" rx="3" ry="6" fill="${CREAM}" transform="rotate(${a} 67 67)"/>`).join("")
    + `<circle cx="67" cy="67" r="2.4" fill="${GOLD}"/>`,
  // XIV Temperance: water poured between two cups, one foot on land, one in water.
  () => `<path d="M20 148 H60 V160 H20 Z" fill="#6b8f4a"/><path d="M60 148 H100 V160 H60 Z" fill="#3a7ab0"/>`
    + place(40, 84, 1.3, cup(PALETTE.cups)) + place(80, 118, 1.3, cup(PALETTE.cups))
    + `<path d="M46 78 C62 84 74 96 78 104" fill="none" stroke="#8fd3ff" stroke-width="2.4"/>` + sun(60, 52, 6, GOLD),
  // XV The Devil: an inverted star over two chained figures.
  () => `<path d="${starPath(5, 20, 8, 60, 70)}" fill="none" stroke="#d94b3a" stroke-width="2.4" transform="rotate(180 60 70)"/>`
    + figure(40, 114, "#6a3030") + figure(80, 114, "#6a3030")
    + `<path d="M40 140 Q60 150 80 140" fill="none" stroke="#aaa" stroke-width="2" stroke-dasharray="3 2"/>`,
  // XVI The Tower: a tower struck by lightning, its crown flying off.
  () => `<rect x="44" y="72" width="32" height="88" fill="#7a6a5a" stroke="${INK}"/><path d="M40 72 L48 56 L72 56 L80 72 Z" fill="${GOLD}" transform="rotate(-18 60 64)"/>`
    + `<path d="M86 40 L66 76 L76 78 L58 110" fill="none" stroke="#fff3b0" stroke-width="3"/>`
    + `<rect x="54" y="96" width="12" height="16" fill="#f08a3c"/>` + [[36, 92], [86, 120], [30, 130]].map(([x, y]) => `<circle cx="${x}" cy="${y}" r="2.4" fill="#f08a3c"/>`).join(""),
  // XVII The Star: one great star and seven small, water poured below.
  () => star(60, 74, 22, GOLD) + [[26, 52], [94, 52], [22, 86], [98, 86], [32, 112], [88, 112], [60, 40]].map(([x, y]) => star(x, y, 6, CREAM)).join("")
    + `<path d="M20 150 Q60 136 100 150 V160 H20 Z" fill="#3a7ab0"/>` + place(60, 130, 0.9, cup(PALETTE.cups)),
  // XVIII The Moon: a moon with a face, two towers, a path and falling dew.
  () => `<circle cx="60" cy="70" r="22" fill="${CREAM}"/><circle cx="66" cy="66" r="20" fill="#d7cfa8"/>`
    + `<rect x="18" y="110" width="14" height="50" fill="#5a5a6a"/><rect x="88" y="110" width="14" height="50" fill="#5a5a6a"/>`
    + `<path d="M60 160 C56 140 66 130 60 112" fill="none" stroke="${GOLD}" stroke-width="2"/>`
    + [[40, 100], [52, 104], [68, 102], [80, 98]].map(([x, y]) => `<path d="M${x} ${y} q2 4 0 6 q-2 -2 0 -6" fill="${GOLD}"/>`).join(""),
  // XIX The Sun: a great sun over a sunflower wall.
  () => sun(60, 78, 20, GOLD) + `<rect x="20" y="132" width="80" height="28" fill="#8a6d4a"/>`
    + [34, 60, 86].map((x) => `<circle cx="${x}" cy="128" r="7" fill="#f0c020" stroke="#8a5a14" stroke-width="2"/>`).join(""),
  // XX Judgement: a trumpet sounding from the clouds, rays going out.
  () => `<ellipse cx="60" cy="58" rx="34" ry="12" fill="#c8d0e0"/><path d="M48 64 L84 100 L92 92 L88 104 L76 108 L80 100 Z" fill="${GOLD}"/>`
    + [0, 1, 2, 3].map((i) => `<line x1="${90 + i * 2}" y1="${108 + i * 6}" x2="${100 + i * 2}" y2="${112 + i * 8}" stroke="${GOLD}" stroke-width="1.6"/>`).join("")
    + figure(40, 124, "#d9d9e0") + figure(66, 130, "#d9d9e0"),
  // XXI The World: a laurel wreath, a dancer, the four corners.
  () => `<ellipse cx="60" cy="100" rx="26" ry="40" fill="none" stroke="#6b9f4a" stroke-width="5" stroke-dasharray="6 3"/>`
    + figure(60, 86, "#8a6dbf") + [[26, 54], [94, 54], [26, 148], [94, 148]].map(([x, y]) => `<circle cx="${x}" cy="${y}" r="6" fill="${CREAM}" opacity="0.8"/>`).join(""),
];

// ---- a whole face ------------------------------------------------------------------------------

let uid = 0;

/** Which card this is from what the API sends (`card_id` like "cups-12", else suit/number fields). */
export function cardKey(card) {
  const m = /^(major|wands|cups|swords|pentacles)-(\d{1,2})$/.exec(String(card.card_id || card.id || ""));
  if (m) return { suit: m[1] === "major" ? null : m[1], number: Number(m[2]) };
  const major = String(card.arcana || "").toLowerCase().startsWith("major");
  return { suit: major ? null : card.suit || null, number: Number(card.number ?? 0) };
}

/** The SVG markup of a card's face, upright (the caller rotates it for a reversed card). */
export function cardFaceSvg(card) {
  const { suit, number } = cardKey(card);
  const major = !suit;
  const c = PALETTE[suit || "major"];
  const id = `g${(uid += 1)}`;
  let art;
  let corner;
  if (major) {
    art = (MAJOR[number] || MAJOR[0])();
    corner = ROMAN[number] ?? "";
  } else if (number === 1) {
    art = ace(suit, c);
    corner = "A";
  } else if (number >= 2 && number <= 10) {
    art = pips(suit, number, c);
    corner = String(number);
  } else {
    art = court(suit, number, c);
    corner = { 11: "P", 12: "Kn", 13: "Q", 14: "K" }[number] || "";
  }
  const size = corner.length > 3 ? 9 : corner.length > 2 ? 11 : 13; // XVIII must fit the corner
  const mark = major ? star(101, 22, 6, GOLD) : place(101, 22, 0.45, SYMBOL[suit](c));
  return `<svg viewBox="0 0 120 200" xmlns="http://www.w3.org/2000/svg" role="img" aria-hidden="true" class="face-art">`
    + `<defs><linearGradient id="${id}" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="${c.top}"/><stop offset="1" stop-color="${c.bottom}"/></linearGradient></defs>`
    + `<rect x="1" y="1" width="118" height="198" rx="9" fill="url(#${id})"/>`
    + `<rect x="6" y="6" width="108" height="188" rx="6" fill="none" stroke="${GOLD}" stroke-width="1.2" opacity="0.85"/>`
    + art
    + `<text x="19" y="26" font-family="Georgia, serif" font-size="${size}" font-weight="700" text-anchor="middle" fill="${CREAM}">${corner}</text>`
    + mark
    + `<text x="101" y="182" font-family="Georgia, serif" font-size="${size}" font-weight="700" text-anchor="middle" fill="${CREAM}" transform="rotate(180 102 178)">${corner}</text>`
    + `</svg>`;
}

/** The shared card back: a star in a diamond lattice. */
export function cardBackSvg() {
  const id = `b${(uid += 1)}`;
  return `<svg viewBox="0 0 120 200" xmlns="http://www.w3.org/2000/svg" aria-hidden="true" class="back-art">`
    + `<defs><pattern id="${id}" width="12" height="12" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">`
    + `<rect width="12" height="12" fill="#241640"/><path d="M0 0 H12 M0 0 V12" stroke="#4a3478" stroke-width="1"/></pattern></defs>`
    + `<rect x="1" y="1" width="118" height="198" rx="9" fill="url(#${id})"/>`
    + `<rect x="6" y="6" width="108" height="188" rx="6" fill="none" stroke="${GOLD}" stroke-width="1.4"/>`
    + `<circle cx="60" cy="100" r="26" fill="#241640" stroke="${GOLD}" stroke-width="1.4"/>`
    + star(60, 100, 20, GOLD, 8) + moon(60, 100, 6, "#241640")
    + `</svg>`;
}
