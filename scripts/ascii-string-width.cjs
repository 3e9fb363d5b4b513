// Put in place of string-width for cli-table3 in the bundle (scripts/build-cli.mjs). cli-table3
// measures each cell several times while it lays a table out, and string-width runs its emoji
// regex over every string: ~20 ms of a 230 ms `fwlab status`. A string of printable ASCII,
// box-drawing characters and the ellipsis (the table's own borders and truncation) is as wide as
// it is long, as string-width itself says of each of them; anything else (colours, wide or
// combining characters, emoji) is still measured by string-width, loaded the first time one is seen.
"use strict";
let stringWidth;
const NARROW = /^[\x20-\x7e\u2026\u2500-\u257f]*$/;
module.exports = (s) => {
  if (typeof s === "string" && NARROW.test(s)) return s.length;
  stringWidth ??= require("string-width");
  return stringWidth(s);
};
