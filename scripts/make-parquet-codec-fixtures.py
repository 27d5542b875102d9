"""Writes test/fixtures/parquet-codecs/: one small Parquet file per compression codec, written by
pyarrow (an independent writer, as Hugging Face's Parquet exports are), plus rows.txt, the same
text as plain-text paragraphs, which the test reads as the oracle.

Run once from the repository root: /work/venv/bin/python scripts/make-parquet-codec-fixtures.py
(needs pyarrow; the project's tests do not)."""
import os
import pyarrow as pa
import pyarrow.parquet as pq

OUT = os.path.join("test", "fixtures", "parquet-codecs")
CODECS = ["zstd", "snappy", "gzip", "brotli", "lz4"]

# repetitive enough that every codec really compresses, with non-ASCII text and a null row
words = ["memory", "key", "value", "Geva", "layer", "naïve", "café", "東京", "feed-forward"]
rows = [" ".join(words[(i * 7 + j) % len(words)] for j in range(5 + i % 11)) + f" #{i}" for i in range(40)]
rows[13] = None

os.makedirs(OUT, exist_ok=True)
table = pa.table({"id": pa.array(range(len(rows)), pa.int32()), "text": pa.array(rows, pa.string())})
for codec in CODECS:
    # several row groups, so reading a group at a time is exercised too
    pq.write_table(table, os.path.join(OUT, f"{codec}.parquet"), compression=codec, row_group_size=16, use_dictionary=False)
with open(os.path.join(OUT, "rows.txt"), "w", encoding="utf-8") as f:
    f.write("\n\n".join(r for r in rows if r is not None) + "\n")
for codec in CODECS:
    md = pq.ParquetFile(os.path.join(OUT, f"{codec}.parquet")).metadata
    print(codec, md.row_group(0).column(1).compression, os.path.getsize(os.path.join(OUT, f"{codec}.parquet")), "bytes")
