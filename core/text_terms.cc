#include "core/text_terms.h"

#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/uscript.h>
#include <unicode/unistr.h>
#include <unicode/utf8.h>

#include <algorithm>
#include <unordered_set>

namespace chat::core {
namespace {

// Korean, Chinese or Japanese, by script extension: the long-vowel mark ー, shared by hiragana and
// katakana, belongs to the runs it occurs in.
bool IsCjk(UChar32 c) {
  if (!u_isalnum(c)) return false;
  for (UScriptCode script : {USCRIPT_HANGUL, USCRIPT_HAN, USCRIPT_HIRAGANA, USCRIPT_KATAKANA}) {
    if (uscript_hasScript(c, script)) return true;
  }
  return false;
}

// Part of a word: a letter or digit, or a mark that combines with one.
bool IsWordChar(UChar32 c) {
  if (u_isalnum(c)) return true;
  int8_t type = u_charType(c);
  return type == U_NON_SPACING_MARK || type == U_COMBINING_SPACING_MARK || type == U_ENCLOSING_MARK;
}

std::string ToUtf8(const icu::UnicodeString& text) {
  std::string out;
  text.toUTF8String(out);
  return out;
}

// A word as it is indexed: decomposed, without its nonspacing marks, case-folded, recomposed, cut.
std::string FoldWord(const icu::UnicodeString& word) {
  UErrorCode error = U_ZERO_ERROR;
  const icu::Normalizer2* nfd = icu::Normalizer2::getNFDInstance(error);
  const icu::Normalizer2* nfkc = icu::Normalizer2::getNFKCInstance(error);
  if (U_FAILURE(error)) return ToUtf8(word);
  icu::UnicodeString decomposed = nfd->normalize(word, error);
  icu::UnicodeString bare;
  for (int32_t i = 0; i < decomposed.length();) {
    UChar32 c = decomposed.char32At(i);
    if (u_charType(c) != U_NON_SPACING_MARK) bare.append(c);
    i += U16_LENGTH(c);
  }
  bare.foldCase();
  icu::UnicodeString folded = nfkc->normalize(bare, error);
  if (U_FAILURE(error)) folded = bare;
  if (folded.countChar32() > static_cast<int32_t>(kMaxTermChars)) {
    folded.truncate(folded.moveIndex32(0, static_cast<int32_t>(kMaxTermChars)));
  }
  return ToUtf8(folded);
}

// One character of a Korean, Chinese or Japanese run, in its compatibility form (half-width katakana
// become full-width), as UTF-8.
std::string FoldCjk(UChar32 c) {
  UErrorCode error = U_ZERO_ERROR;
  const icu::Normalizer2* nfkc = icu::Normalizer2::getNFKCInstance(error);
  icu::UnicodeString one(c);
  if (U_SUCCESS(error)) one = nfkc->normalize(one, error);
  return ToUtf8(one);
}

// What a text is made of, in order: words and runs of CJK characters.
struct Segment {
  bool cjk = false;
  std::string word;                  // !cjk: the folded word
  std::vector<std::string> chars;    // cjk: the folded characters
};

struct Segmented {
  std::vector<Segment> segments;
  bool ends_inside = false;  // the text ends inside its last segment (no separator after it)
};

Segmented SplitText(std::string_view text) {
  Segmented out;
  icu::UnicodeString word;
  std::vector<std::string> run;
  auto end_word = [&] {
    if (word.isEmpty()) return;
    out.segments.push_back({false, FoldWord(word), {}});
    word.remove();
  };
  auto end_run = [&] {
    if (run.empty()) return;
    out.segments.push_back({true, "", std::move(run)});
    run.clear();
  };
  const auto* bytes = reinterpret_cast<const uint8_t*>(text.data());
  int32_t length = static_cast<int32_t>(text.size());
  bool inside = false;
  for (int32_t i = 0; i < length;) {
    UChar32 c;
    U8_NEXT(bytes, i, length, c);
    if (c < 0) {  // not UTF-8 here: a separator
      end_word();
      end_run();
      inside = false;
      continue;
    }
    if (IsCjk(c)) {
      end_word();
      run.push_back(FoldCjk(c));
      inside = true;
    } else if (IsWordChar(c)) {
      end_run();
      word.append(c);
      inside = true;
    } else {
      end_word();
      end_run();
      inside = false;
    }
  }
  end_word();
  end_run();
  out.ends_inside = inside;
  return out;
}

void Bigrams(const std::vector<std::string>& chars, std::vector<std::string>* out) {
  if (chars.size() == 1) {
    out->push_back(chars[0]);
    return;
  }
  for (std::size_t i = 0; i + 1 < chars.size(); ++i) out->push_back(chars[i] + chars[i + 1]);
}

}  // namespace

std::vector<std::string> IndexTerms(std::string_view text) {
  // The first kMaxIndexedChars code points: count lead bytes (not 10xxxxxx) up to the one past them.
  std::size_t chars = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80 && chars++ == kMaxIndexedChars) {
      text = text.substr(0, i);
      break;
    }
  }
  std::vector<std::string> terms;
  std::unordered_set<std::string> seen;
  std::vector<std::string> pieces;
  for (Segment& segment : SplitText(text).segments) {
    pieces.clear();
    if (segment.cjk) {
      Bigrams(segment.chars, &pieces);
    } else if (!segment.word.empty()) {
      pieces.push_back(std::move(segment.word));
    }
    for (std::string& piece : pieces) {
      if (terms.size() == kMaxTermsPerText) return terms;
      if (seen.insert(piece).second) terms.push_back(std::move(piece));
    }
  }
  return terms;
}

QueryTerms SearchTerms(std::string_view query) {
  Segmented segmented = SplitText(query);
  QueryTerms terms;
  for (std::size_t i = 0; i < segmented.segments.size(); ++i) {
    Segment& segment = segmented.segments[i];
    bool last = i + 1 == segmented.segments.size();
    if (last && segmented.ends_inside) {
      // Still being typed: the word as a prefix; a lone CJK character as the start of a pair.
      if (segment.cjk && segment.chars.size() == 1) {
        terms.prefix = segment.chars[0];
        break;
      }
      if (!segment.cjk && icu::UnicodeString::fromUTF8(segment.word).countChar32() >= 2) {
        terms.prefix = segment.word;
        break;
      }
    }
    if (segment.cjk) {
      Bigrams(segment.chars, &terms.exact);
    } else if (!segment.word.empty()) {
      terms.exact.push_back(segment.word);
    }
  }
  std::sort(terms.exact.begin(), terms.exact.end());
  terms.exact.erase(std::unique(terms.exact.begin(), terms.exact.end()), terms.exact.end());
  return terms;
}

}  // namespace chat::core
