"""Text-level knowledge: reading reports into paragraphs, sentences, clauses and candidate
spans with offsets; normalisation; tokens; homophones and pinyin."""
