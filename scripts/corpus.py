#!/usr/bin/env python3
"""Deterministic corpus of German-like news articles in the seed format (PROTOCOL.md §7.1).

    python3 scripts/corpus.py generate --n N --out DIR [--seed S]
    python3 scripts/corpus.py mutate --in DIR --out DIR2 [--seed S] [--in-place]
    python3 scripts/corpus.py stats DIR [--sample K]

Text is recombined from real German news prose (scripts/bench-lib/prose_de.txt plus the sample
article in seeds/): real sentences, order-2 word Markov sentences over all of it, quotes, with
numbers, names, places and weekdays drawn per article and nouns compounded from a stem list. The
mix is tuned so that zlib behaves as it does on real news: per-article level 6 about 0.52 of raw,
one stream over the whole corpus about 0.39 (issue 6). Standard library only; same seed, same
bytes, on any machine.
"""

import argparse
import datetime
import hashlib
import os
import random
import re
import shutil
import sys
import time
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
PROSE_PATH = os.path.join(HERE, "bench-lib", "prose_de.txt")
SAMPLE_SEED = os.path.join(HERE, "..", "seeds", "000_2f910ce6754fa13e.txt")

# The sample article's category; ours are the usual sections of a German news site.
SAMPLE_CATEGORY = "Welt Nachrichten"
# Mix of the sentence pool, tuned against issue 6's measurements of real news (see module doc).
P_REAL = float(os.environ.get("CORPUS_P_REAL", "0.10"))        # a real sentence as written
P_QUOTE = float(os.environ.get("CORPUS_P_QUOTE", "0.12"))      # a quote with a speaker
P_BACKOFF = float(os.environ.get("CORPUS_P_BACKOFF", "0.5"))   # order-1 step where order 2 has one successor
P_COMPOUND = float(os.environ.get("CORPUS_P_COMPOUND", "0.4"))  # noun gets a compound stem
POOL_SIZE = 24000          # sentences; a 32 KB window sees ~300 of them, so repeats stay rare
MEAN_ARTICLE_BYTES = 3000
MIN_ARTICLE_BYTES = 1000
MAX_ARTICLE_BYTES = 8000
FIRST_YEAR, LAST_YEAR = 2016, 2025

FEMALE_NAMES = """Anna Maria Lena Sophie Julia Laura Katharina Sarah Lisa Hannah Johanna Clara Paula
Miriam Sabine Petra Claudia Andrea Monika Ursula Helga Renate Birgit Susanne Nicole Stefanie Ines
Franziska Carolin Theresa Elif Aylin Jana Svenja Nadine Kerstin Martina Heike Greta Marlene""".split()
MALE_NAMES = """Thomas Michael Andreas Stefan Christian Markus Martin Peter Wolfgang Klaus Jürgen Uwe Frank Jörg
Matthias Tobias Sebastian Florian Jan Lukas Felix Jonas Maximilian Tim Niklas Paul Moritz David
Alexander Oliver Daniel Philipp Simon Benedikt Konstantin Günter Heinz Dieter Rüdiger Björn""".split()
LAST_NAMES = """Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann Schäfer Koch
Bauer Richter Klein Wolf Schröder Neumann Schwarz Zimmermann Braun Krüger Hofmann Hartmann Lange
Schmitt Werner Schmitz Krause Meier Lehmann Schmid Schulze Maier Köhler Herrmann König Walter Mayer
Huber Kaiser Fuchs Peters Lang Scholz Möller Weiß Jung Hahn Schubert Vogel Friedrich Keller Günther
Frank Berger Winkler Roth Beck Lorenz Baumann Franke Albrecht Schuster Simon Ludwig Böhm Winter
Kraus Martin Schumacher Krämer Vogt Stein Jäger Otto Sommer Groß Seidel Heinrich Brandt Haas
Schreiber Graf Schulte Dietrich Ziegler Kuhn Kühn Pohl Engel Horn Busch Bergmann Thomas Voigt
Sauer Arnold Wolff Pfeiffer Özdemir Yılmaz Kowalski Nowak Rossi Novak Petrović Horvath Jansen""".split()
CITIES = """Berlin Hamburg München Köln Frankfurt Stuttgart Düsseldorf Leipzig Dortmund Essen Bremen
Dresden Hannover Nürnberg Duisburg Bochum Wuppertal Bielefeld Bonn Münster Mannheim Karlsruhe
Augsburg Wiesbaden Mönchengladbach Gelsenkirchen Aachen Braunschweig Kiel Chemnitz Halle Magdeburg
Freiburg Krefeld Mainz Lübeck Erfurt Oberhausen Rostock Kassel Hagen Potsdam Saarbrücken Hamm
Ludwigshafen Oldenburg Osnabrück Leverkusen Heidelberg Darmstadt Solingen Regensburg Herne Paderborn
Neuss Ingolstadt Offenbach Fürth Würzburg Ulm Heilbronn Pforzheim Wolfsburg Göttingen Bottrop
Reutlingen Koblenz Bremerhaven Recklinghausen Erlangen Bergisch-Gladbach Trier Jena Remscheid
Salzgitter Moers Siegen Hildesheim Cottbus Gütersloh Kaiserslautern Schwerin Wien Graz Linz Zürich
Basel Bern Innsbruck Salzburg Paris Brüssel Warschau Prag Rom Madrid Lissabon Istanbul Washington
Peking Tokio Kiew Moskau London Amsterdam Kopenhagen Stockholm Athen Budapest""".split()
WEEKDAYS = "Montag Dienstag Mittwoch Donnerstag Freitag Samstag Sonntag".split()
MONTHS = """Januar Februar März April Mai Juni Juli August September Oktober November
Dezember""".split()
ROLES = """der Sprecher|die Sprecherin|der Bürgermeister|die Bürgermeisterin|der Vorsitzende|die
Vorsitzende|der Minister|die Ministerin|der Geschäftsführer|die Geschäftsführerin|der Trainer|die
Trainerin|der Experte|die Expertin|der Abgeordnete|die Abgeordnete|der Direktor|die Direktorin|der
Polizeisprecher|die Polizeisprecherin|der Präsident|die Präsidentin|der Ökonom|die Ökonomin|der
Forscher|die Forscherin|der Anwalt|die Anwältin|der Landrat|die Landrätin""".replace("\n", " ").split("|")
SAY = "sagte|erklärte|betonte|sagte am Rande der Sitzung|kritisierte|meinte|warnte|sagte auf Nachfrage".split("|")
# Proper names in the prose: never compounded ("Luftrobert Koch" would be no German word).
PROPER = set("""Robert Koch-Instituts Sergej Lawrow Marco Rubio Sonata Coulter Beethoven Brahms Christus Europa
Deutschland Frankreich Russland Ukraine Istanbul Österreich Schweiz Asien Afrika Ostafrikas Rhein China Kitzbühel
Vereinigten Staaten Osteuropa Februar Dax Brent Euro Deutschlandticket Wattenmeer""".split())
# First parts of German compound nouns: "Landes" + "regierung" -> "Landesregierung".
STEMS = """Landes Bundes Stadt Gemeinde Kreis Staats Volks Welt Jahres Monats Wochen Tages Energie
Strom Wasser Wärme Gas Öl Kohle Wind Solar Klima Umwelt Natur Wald Boden Luft Verkehrs Bahn Straßen
Auto Rad Flug Hafen Schiff Bus Wirtschafts Handels Markt Preis Kosten Steuer Geld Finanz Haushalts
Banken Kredit Zins Arbeits Personal Fach Berufs Lohn Renten Sozial Gesundheits Kranken Pflege
Kinder Jugend Familien Schul Bildungs Hochschul Forschungs Wissenschafts Technik Daten Netz
Software Sicherheits Polizei Justiz Rechts Gerichts Kultur Kunst Musik Theater Film Medien Sport
Fußball Vereins Spiel Mannschafts Bürger Haus Wohn Miet Bau Grund Immobilien Agrar Lebensmittel
Export Import Industrie Chemie Stahl Digital Zukunfts Krisen Reform Wahl Partei Regierungs
Haupt Grenz Küsten Berg Alpen Nord Süd Ost West Innen Außen Nachbar Partner Groß Klein Neu Alt""".split()

WORD_RE = re.compile(r"\S+")
NUMBER_RE = re.compile(r"^(\d[\d.,]*)([.,;:!?)“]*)$")


def load_prose():
    """Category -> list of paragraphs, with the sample article's paragraphs under its category."""
    sections = {}
    current = None
    with open(PROSE_PATH, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line.startswith("## "):
                current = line[3:].strip()
                sections[current] = []
            elif line:
                sections[current].append(line)
    if os.path.exists(SAMPLE_SEED):
        with open(SAMPLE_SEED, encoding="utf-8") as f:
            blocks = [b.strip() for b in f.read().split("\n\n") if b.strip()]
        # Date line and the title twice come first; the rest are paragraphs.
        sections.setdefault(SAMPLE_CATEGORY, []).extend(blocks[3:])
    return sections


def split_sentences(paragraph):
    # German abbreviations are rare in our prose; a sentence ends at .!? followed by a space.
    parts = re.split(r"(?<=[.!?])\s+(?=[A-ZÄÖÜ„])", paragraph)
    return [p.strip() for p in parts if p.strip()]


class Lexicon:
    """What the generator draws from: real sentences, a Markov chain, nouns to compound."""

    def __init__(self):
        self.sections = load_prose()
        self.categories = list(self.sections.keys())
        self.sentences = {c: [s for p in ps for s in split_sentences(p)] for c, ps in self.sections.items()}
        self.all_sentences = [s for c in self.categories for s in self.sentences[c]]
        self.chain = {}
        self.chain1 = {}
        self.starts = {c: [] for c in self.categories}
        for c in self.categories:
            for s in self.sentences[c]:
                words = s.split()
                if len(words) < 3:
                    continue
                self.starts[c].append((words[0], words[1]))
                seq = [None, None] + words
                for i in range(len(seq) - 2):
                    self.chain.setdefault((seq[i], seq[i + 1]), []).append(seq[i + 2])
                    if seq[i + 1] is not None:
                        self.chain1.setdefault(seq[i + 1], []).append(seq[i + 2])
        nouns = []
        seen = {}
        for s in self.all_sentences:
            for i, w in enumerate(s.split()):
                core = w.strip(".,;:!?„“()")
                if i > 0 and len(core) >= 5 and core[0].isupper() and core.isalpha() and core not in seen:
                    seen[core] = True
                    nouns.append(core)
        self.nouns = nouns
        self.noun_set = seen


class SentencePool:
    """A fixed pool of sentence templates; an article fills their slots with its own values."""

    def __init__(self, lexicon, rng, size=POOL_SIZE):
        self.lex = lexicon
        self.rng = rng
        self.by_category = {c: [] for c in lexicon.categories}
        for i in range(size):
            c = lexicon.categories[i % len(lexicon.categories)]
            self.by_category[c].append(self._template(self._sentence(c)))

    def _sentence(self, category):
        rng = self.rng
        r = rng.random()
        if r < P_REAL * 0.7:
            s = rng.choice(self.lex.sentences[category])
        elif r < P_REAL:
            s = rng.choice(self.lex.all_sentences)
        elif r < P_REAL + P_QUOTE:
            quote = self._markov(category, 6, 22).rstrip(".!?")
            s = "„%s“, %s {SPEAKER}." % (quote, rng.choice(SAY))
        else:
            s = self._markov(category, 6, 34)
        return self._compound(s)

    def _markov(self, category, min_words, max_words):
        rng = self.rng
        chain = self.lex.chain
        for _attempt in range(8):
            w1, w2 = rng.choice(self.lex.starts[category])
            words = [w1, w2]
            while len(words) < max_words:
                nxt = chain.get((w1, w2))
                if not nxt:
                    break
                if len(set(nxt)) == 1 and rng.random() < P_BACKOFF:
                    nxt = self.lex.chain1.get(w2, nxt)
                w = rng.choice(nxt)
                words.append(w)
                w1, w2 = w2, w
                if w[-1] in ".!?" and not NUMBER_RE.match(w):
                    break
            if len(words) >= min_words and words[-1][-1] in ".!?":
                return " ".join(words)
        return rng.choice(self.lex.sentences[category])

    def _compound(self, sentence):
        # Real news has a vocabulary of hundreds of thousands of words, most of them compounds;
        # without this the whole-corpus stream compresses far better than real text does.
        rng = self.rng
        out = []
        for i, w in enumerate(sentence.split(" ")):
            core = w.strip(".,;:!?„“()")
            if (i > 0 and core in self.lex.noun_set and core not in PROPER and core not in CITIES
                    and "-" not in core and rng.random() < P_COMPOUND):
                stem = rng.choice(STEMS)
                if not core.lower().startswith(stem.lower()):
                    w = w.replace(core, stem + core.lower(), 1)
            out.append(w)
        return " ".join(out)

    def _template(self, sentence):
        """Split into literal parts and slots: numbers, cities, weekdays, months become slots."""
        parts = []
        for w in sentence.split(" "):
            m = NUMBER_RE.match(w)
            core = w.rstrip(".,;:!?“)")
            tail = w[len(core):]
            if m and any(ch.isdigit() for ch in m.group(1)):
                num = m.group(1)
                kind = "{PCT}" if "," in num else ("{YEAR}" if len(num) == 4 and num[:2] in ("19", "20") else "{INT}")
                parts.append(kind + m.group(2))
            elif core in WEEKDAYS or core in CITIES or core in MONTHS:
                slot = "{DAY}" if core in WEEKDAYS else ("{CITY}" if core in CITIES else "{MONTH}")
                parts.append(slot + tail)
            else:
                parts.append(w)
        text = " ".join(parts)
        return re.split(r"(\{[A-Z]+\})", text)

    def fill(self, template, rng):
        out = []
        for i, p in enumerate(template):
            if i % 2 == 0:
                out.append(p)
            elif p == "{INT}":
                out.append(str(rng.choice((rng.randint(2, 30), rng.randint(10, 999), rng.randint(1000, 99999)))))
            elif p == "{PCT}":
                out.append("%d,%d" % (rng.randint(0, 12), rng.randint(0, 9)))
            elif p == "{YEAR}":
                out.append(str(rng.randint(1990, 2040)))
            elif p == "{DAY}":
                out.append(rng.choice(WEEKDAYS))
            elif p == "{MONTH}":
                out.append(rng.choice(MONTHS))
            elif p == "{CITY}":
                out.append(rng.choice(CITIES))
            elif p == "{SPEAKER}":
                role = rng.choice(ROLES).strip()
                names = FEMALE_NAMES if role.startswith("die") else MALE_NAMES
                out.append("%s %s %s" % (role, rng.choice(names), rng.choice(LAST_NAMES)))
        s = "".join(out)
        return s[0].upper() + s[1:] if s and s[0].islower() else s

    def sentence(self, category, rng):
        return self.fill(rng.choice(self.by_category[category]), rng)


class ArticleWriter:
    def __init__(self, seed):
        self.seed = seed
        self.lex = Lexicon()
        self.pool = SentencePool(self.lex, random.Random("pool-%s" % seed))

    def article_id(self, index):
        digest = hashlib.sha256(("%s/%d" % (self.seed, index)).encode()).hexdigest()[:16]
        return "%06d_%s" % (index, digest)

    def title(self, category, rng):
        s = self.pool.sentence(category, rng).strip("„")
        s = re.split(r"[,;:“]", s)[0].rstrip(".!?")
        words = s.split()
        words = words[: rng.randint(4, 9)]
        t = " ".join(words).strip(",.;:")
        return t if t else category

    def paragraph(self, category, rng):
        return " ".join(self.pool.sentence(category, rng) for _ in range(rng.randint(2, 5)))

    def body_paragraphs(self, category, rng, target):
        paras = []
        size = 0
        while size < target:
            p = self.paragraph(category, rng)
            paras.append(p)
            size += len(p.encode("utf-8")) + 2
        return paras

    def render(self, when, category, title, paragraphs):
        head = "Veröffentlichungsdatum: %s / %s" % (when.strftime("%d.%m.%Y %H:%M"), category)
        return "\n\n".join([head, title, title] + paragraphs)

    def article(self, index, when, category_rng_seed=None):
        rng = random.Random("article-%s-%d" % (self.seed, index))
        category = rng.choice(self.lex.categories)
        target = int(min(MAX_ARTICLE_BYTES, max(MIN_ARTICLE_BYTES, rng.lognormvariate(7.88, 0.5))))
        title = self.title(category, rng)
        head_len = 60 + 2 * len(title.encode("utf-8"))
        paras = self.body_paragraphs(category, rng, max(200, target - head_len))
        return self.render(when, category, title, paras)


def article_times(n, seed):
    """n publication times in ascending order: ids count up with time, as in a real archive."""
    rng = random.Random("dates-%s" % seed)
    start = datetime.datetime(FIRST_YEAR, 1, 1)
    span = int((datetime.datetime(LAST_YEAR, 12, 31, 23, 59) - start).total_seconds() // 60)
    minutes = sorted(rng.randrange(span) for _ in range(n))
    return [start + datetime.timedelta(minutes=m) for m in minutes]


def rel_path(article_id, when):
    return os.path.join("%04d" % when.year, "%02d" % when.month, article_id + ".txt")


def write_file(path, text):
    with open(path, "wb") as f:
        f.write(text.encode("utf-8"))


def cmd_generate(args):
    t0 = time.monotonic()
    writer = ArticleWriter(args.seed)
    times = article_times(args.n, args.seed)
    made = set()
    total = 0
    for i, when in enumerate(times):
        rel = rel_path(writer.article_id(i), when)
        d = os.path.join(args.out, os.path.dirname(rel))
        if d not in made:
            os.makedirs(d, exist_ok=True)
            made.add(d)
        text = writer.article(i, when)
        write_file(os.path.join(args.out, rel), text)
        total += len(text.encode("utf-8"))
        if args.progress and i % 10000 == 0 and i:
            print("  %d articles" % i, file=sys.stderr)
    print("generated %d articles, %.1f MB, %.1f KB average, in %.1f s -> %s" % (
        args.n, total / 1e6, total / max(1, args.n) / 1e3, time.monotonic() - t0, args.out))


def list_articles(root):
    """Sorted relative paths of every .txt under root."""
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            if name.endswith(".txt"):
                out.append(os.path.relpath(os.path.join(dirpath, name), root))
    return out


def edit_paragraph(text, writer, rng):
    """Rewrite one sentence of one body paragraph and add another: a typical correction."""
    blocks = text.split("\n\n")
    head, title = blocks[0], blocks[1]
    category = head.split(" / ", 1)[1]
    if category not in writer.pool.by_category:
        category = writer.lex.categories[0]
    first_body = 3 if len(blocks) > 3 else len(blocks)
    if first_body >= len(blocks):
        blocks.append(writer.paragraph(category, rng))
        return "\n\n".join(blocks)
    k = rng.randrange(first_body, len(blocks))
    sentences = split_sentences(blocks[k])
    j = rng.randrange(len(sentences))
    sentences[j] = writer.pool.sentence(category, rng)
    sentences.insert(rng.randrange(len(sentences) + 1), writer.pool.sentence(category, rng))
    blocks[k] = " ".join(sentences)
    del title
    return "\n\n".join(blocks)


def cmd_mutate(args):
    t0 = time.monotonic()
    src = args.inp
    if args.in_place:
        dst = src
    else:
        if not args.out:
            sys.exit("corpus.py mutate: give --out DIR or --in-place")
        if os.path.exists(args.out):
            shutil.rmtree(args.out)
        # Hard links make the copy cheap; every change below replaces a file, never writes
        # through a link, so the source tree stays as it was.
        shutil.copytree(src, args.out, copy_function=os.link)
        dst = args.out
    paths = list_articles(dst)
    n = len(paths)
    rng = random.Random("mutate-%s" % args.seed)
    n_edit = max(1, round(n * 0.01))
    n_new = max(1, round(n * 0.005))
    n_del = max(1, round(n * 0.001))
    chosen = rng.sample(range(n), min(n, n_edit + n_del))
    edits, deletes = chosen[:n_edit], chosen[n_edit:]
    writer = ArticleWriter("mutate-%s" % args.seed)
    for i in edits:
        p = os.path.join(dst, paths[i])
        with open(p, encoding="utf-8") as f:
            text = f.read()
        tmp = p + ".tmp"
        write_file(tmp, edit_paragraph(text, writer, rng))
        os.replace(tmp, p)
    for i in deletes:
        os.unlink(os.path.join(dst, paths[i]))
    max_index = max((int(os.path.basename(p).split("_", 1)[0]) for p in paths), default=-1)
    latest = datetime.datetime(LAST_YEAR, 12, 31, 12, 0)
    for k in range(n_new):
        index = max_index + 1 + k
        when = latest + datetime.timedelta(minutes=7 * (k + 1) + rng.randrange(7))
        aid = "%06d_%s" % (index, hashlib.sha256(("new-%s/%d" % (args.seed, index)).encode()).hexdigest()[:16])
        rel = rel_path(aid, when)
        os.makedirs(os.path.join(dst, os.path.dirname(rel)), exist_ok=True)
        write_file(os.path.join(dst, rel), writer.article(index, when))
    print("mutated %d articles: %d edited, %d new, %d deleted, in %.1f s -> %s" % (
        n, len(edits), n_new, len(deletes), time.monotonic() - t0, dst))


def cmd_stats(args):
    t0 = time.monotonic()
    paths = list_articles(args.dir)
    if not paths:
        sys.exit("corpus.py stats: no .txt articles under %s" % args.dir)
    if args.sample and args.sample < len(paths):
        step = len(paths) / args.sample
        paths = [paths[int(i * step)] for i in range(args.sample)]
    raw = per = 0
    sizes = []
    cats = {}
    stream = zlib.compressobj(6)
    streamed = 0
    dict_sample = []
    for rel in paths:
        with open(os.path.join(args.dir, rel), "rb") as f:
            data = f.read()
        raw += len(data)
        sizes.append(len(data))
        per += len(zlib.compress(data, 6))
        streamed += len(stream.compress(data))
        cat = data.split(b"\n", 1)[0].decode("utf-8").split(" / ", 1)[-1]
        cats[cat] = cats.get(cat, 0) + 1
        if len(dict_sample) < 64:
            dict_sample.append(data)
    streamed += len(stream.flush())
    # A naive 32 KB preset dictionary (the tail of a few sample articles), for orientation only;
    # the store builds a better one (PROTOCOL.md §7.3).
    zdict = b"".join(dict_sample)[-32768:]
    with_dict = 0
    for rel in paths[64::max(1, len(paths) // 2000)] or paths:
        with open(os.path.join(args.dir, rel), "rb") as f:
            data = f.read()
        c = zlib.compressobj(6, zdict=zdict)
        with_dict += len(c.compress(data) + c.flush())
    dict_raw = sum(os.path.getsize(os.path.join(args.dir, rel)) for rel in (paths[64::max(1, len(paths) // 2000)] or paths))
    sizes.sort()
    print("articles:            %d%s" % (len(paths), " (sampled)" if args.sample else ""))
    print("raw bytes:           %d (%.1f MB)" % (raw, raw / 1e6))
    print("article size:        avg %.0f  min %d  median %d  p99 %d  max %d bytes" % (
        raw / len(sizes), sizes[0], sizes[len(sizes) // 2], sizes[int(len(sizes) * 0.99)], sizes[-1]))
    print("categories:          %d (%s)" % (len(cats), ", ".join("%s %d" % kv for kv in sorted(cats.items()))))
    print("zlib-6 per article:  %.3f of raw" % (per / raw))
    print("zlib-6 one stream:   %.3f of raw" % (streamed / raw))
    print("zlib-6 naive dict:   %.3f of raw (32 KB of sample text as preset dictionary)" % (with_dict / dict_raw))
    print("(%.1f s)" % (time.monotonic() - t0))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("generate", help="write N articles under DIR/YYYY/MM/")
    g.add_argument("--n", type=int, required=True)
    g.add_argument("--out", required=True)
    g.add_argument("--seed", default="1")
    g.add_argument("--progress", action="store_true")
    m = sub.add_parser("mutate", help="1%% edited, 0.5%% new, 0.1%% deleted")
    m.add_argument("--in", dest="inp", required=True)
    m.add_argument("--out")
    m.add_argument("--in-place", action="store_true")
    m.add_argument("--seed", default="1")
    s = sub.add_parser("stats", help="sizes and zlib ratios of a corpus")
    s.add_argument("dir")
    s.add_argument("--sample", type=int, default=0, help="look at K evenly spread articles only")
    args = ap.parse_args()
    {"generate": cmd_generate, "mutate": cmd_mutate, "stats": cmd_stats}[args.cmd](args)


if __name__ == "__main__":
    main()
