// Search terms: what the search index stores for a message's text and what a query looks up, from one
// segmentation so that the two always agree. Matching as users expect in any language:
//   - words (runs of letters and digits) are case-folded (full folding: "Straße" = "strasse") and
//     their accents dropped (the nonspacing marks of their canonical decomposition: "Café" = "cafe");
//   - Korean, Chinese and Japanese are written without spaces between words, so a run of those
//     characters becomes its overlapping character pairs (bigrams: "회의는" -> "회의", "의는"); a query's
//     pairs must all be there, which finds a word inside a sentence;
//   - the last word of a query that does not end in a space matches as a prefix (as one types).
// Unicode properties and normalization come from ICU.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace chat::core {

// A term's longest form, in code points: longer words are cut (and so found by their start).
inline constexpr std::size_t kMaxTermChars = 40;
// A message is indexed by what comes first in it: its first kMaxIndexedChars characters, and of those
// at most kMaxTermsPerText distinct terms. The bounds are the writer thread's, where every other sender's
// write waits meanwhile: segmenting a 100,000-character text took 53 ms there (1.7 ms for its first
// 4,000), and each term is one more key in the message's write.
inline constexpr std::size_t kMaxIndexedChars = 4000;
inline constexpr std::size_t kMaxTermsPerText = 500;

// The distinct terms of well-formed UTF-8 `text` (its first kMaxIndexedChars characters), in the order
// they first occur.
std::vector<std::string> IndexTerms(std::string_view text);

struct QueryTerms {
  std::vector<std::string> exact;  // each must be a term of the message
  std::string prefix;              // and a term must start with this one ("" when none)
  bool empty() const { return exact.empty() && prefix.empty(); }
};
// What a query asks for. The last word is a prefix when the query does not end with a separator and
// the word has at least two characters (or is a single Korean, Chinese or Japanese character).
QueryTerms SearchTerms(std::string_view query);

}  // namespace chat::core
