"""Reference vectors of all-MiniLM-L6-v2 (sentence-transformers, float32) for varied texts.

``python -m tests.engine.minilm_reference`` (needs the ``torch`` extra) writes
``tests/engine/data/minilm_reference.npz``: the texts below and their vectors computed by the
reference model, so that the ONNX embedder is checked against it without PyTorch installed.
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np

REFERENCE_FILE = Path(__file__).parent / "data" / "minilm_reference.npz"


def reference_texts() -> list[str]:
    """Short and long, plain and odd texts; the long ones are cut at 256 tokens."""
    base = [
        "",
        "ok",
        "Hi!",
        "What did Melanie say about the camping trip with her kids?",
        "How many times did I go hiking last month?",
        "The quarterly report is due on Friday; the figures from March are still missing.",
        "[7 May 2023, 1:56 pm] Caroline: I went to an LGBTQ support group yesterday "
        "and it was so powerful.",
        "Melanie: Sounds great! I painted a lake sunrise last year, it's special to me.",
        "When did Caroline go to the LGBTQ support group?",
        "I'm allergic to peanuts, so please don't put them in the salad.",
        "def fibonacci(n):\n    return n if n < 2 else fibonacci(n - 1) + fibonacci(n - 2)",
        "SELECT name, COUNT(*) FROM orders GROUP BY name HAVING COUNT(*) > 3;",
        "Café au lait, naïve façade, résumé — crème brûlée à Noël.",
        "Müller's Straße in München: Grüße aus Köln!",
        "东京是日本的首都。我喜欢吃寿司。",
        "Москва — столица России.",
        "I love this 😀🎉 so much!!! 🚀🚀",
        "The meeting moved from 3:30 PM to 4:15 PM on 2024-03-12 (UTC+2).",
        "Flight LH 454 departs SFO at 13:40 and lands in FRA at 09:05 +1.",
        "Remind me to call Dr. O'Neil about the MRI results before Thursday.",
        'She said: "Never again," and slammed the door.',
        "   leading and trailing spaces   ",
        "UPPERCASE SHOUTING ABOUT THE BUDGET OVERRUN",
        "tabs\tand\nnewlines\r\nmixed together",
        "https://example.com/path?query=1&x=y#frag",
        "email me at someone@example.org or +1 (555) 123-4567",
        "The mitochondria is the powerhouse of the cell.",
        "Pneumonoultramicroscopicsilicovolcanoconiosis is a very long word.",
        "a b c d e f g h i j k l m n o p q r s t u v w x y z",
        "1 2 3 4 5 6 7 8 9 10 11 12 13 14 15",
        "My dog Max loves chasing squirrels in the garden every morning.",
        "We decided to postpone the product launch until the security audit is complete.",
        "Which books did John read during his summer vacation in Italy?",
        "I prefer tea over coffee, especially green tea in the afternoon.",
        "Her sister's wedding is next Saturday in Lisbon.",
        "The patient reported mild headaches, nausea and blurred vision after the new medication.",
    ]
    rng = random.Random(16)
    words = (
        "memory brain neuron graph recall sleep decay agent conversation "
        "trip family birthday painting concert marathon recipe garden"
    ).split()
    long_texts = [" ".join(rng.choice(words) for _ in range(n)) for n in (40, 120, 200, 300, 600)]
    long_texts.append(
        (
            "Caroline told Melanie about the adoption agency she had been researching, "
            "and how the counsellor encouraged her to keep writing in her journal. "
        )
        * 12
    )
    long_texts.append("x" * 3000)
    long_texts.append(("supercalifragilistic " * 200).strip())
    long_texts.append("東京" * 400)
    mid = [
        "Yesterday I finally finished the 10k run in under fifty minutes, which felt "
        "amazing after months of training.",
        "Can you remind me what restaurant we went to for Anna's birthday in 2022?",
        "The API returns HTTP 503 when the upstream database connection pool is exhausted.",
        "Grandma's apple pie recipe needs six apples, cinnamon, butter, sugar and a pinch of salt.",
        "John and Maria adopted a rescue cat named Luna in early spring.",
        "Note to self: renew passport before the trip to Japan in October.",
    ]
    return base + mid + long_texts


def main() -> None:
    """Compute the reference vectors with sentence-transformers and write them."""
    from sentence_transformers import SentenceTransformer

    from neural_memory.engine.embeddings import bundled_model_path

    texts = reference_texts()
    model = SentenceTransformer(str(bundled_model_path()), device="cpu", local_files_only=True)
    vectors = model.encode(texts, batch_size=8, normalize_embeddings=True, convert_to_numpy=True)
    REFERENCE_FILE.parent.mkdir(exist_ok=True)
    np.savez_compressed(REFERENCE_FILE, texts=np.array(texts), vectors=vectors.astype(np.float32))
    print(f"wrote {len(texts)} vectors to {REFERENCE_FILE}")


if __name__ == "__main__":
    main()
