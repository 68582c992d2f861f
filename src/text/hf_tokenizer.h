#pragma once
// A Hugging Face tokenizer directory: tokenizer.json (the model, normaliser,
// pre-tokeniser, post-processor and decoder) and, when present, tokenizer_config.json
// (BOS/EOS tokens, the chat template). Read into a BpeSpec; a component this build does
// not implement is an Error naming it and its JSON path, never a silently different
// tokenisation.
#include <string>

#include "text/tokenizer.h"

namespace elab {

// `config_json` may be empty (no tokenizer_config.json). `where` names the files in errors.
BpeSpec bpe_spec_from_hf(const std::string& tokenizer_json, const std::string& config_json, const std::string& where);
Tokenizer load_hf_tokenizer(const std::string& dir);

// The other direction, for a model whose tokenizer came from a GGUF file and is saved as
// a Hugging Face directory (full fine-tuning, export): tokenizer.json and
// tokenizer_config.json that `tokenizers` and bpe_spec_from_hf read back as the same
// tokenizer (tested on the parity corpus).
std::string hf_tokenizer_json(const BpeSpec& spec);
std::string hf_tokenizer_config_json(const BpeSpec& spec);

// Special tokens that end a chat turn or a document, by their text; a generation stops
// at any of them that the vocabulary holds.
bool is_end_of_turn_text(const std::string& content);

}  // namespace elab
