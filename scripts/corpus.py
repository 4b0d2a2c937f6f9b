#!/usr/bin/env python3
"""Deterministic corpus of German-like news articles in the seed format (PROTOCOL.md §7.1).

    python3 scripts/corpus.py generate --n N --out DIR [--seed S]
    python3 scripts/corpus.py mutate --in DIR --out DIR2 [--seed S] [--in-place]
    python3 scripts/corpus.py replicate --in DIR --copies K --out DIR2
    python3 scripts/corpus.py stats DIR [--sample K]

Text is recombined from real German news prose (scripts/bench-lib/prose_de.txt, ~4,500 words written
for this, plus the sample article in seeds/): a pool of sentence templates (order-2 word Markov
chains over the prose with order-1 back-off, some real sentences, quotes) whose slots each article
fills with its own words: German words drawn Zipf-like from wordfreq's packaged frequency list (pip
installs the pinned version when missing; it reads its own data and never goes online at run time),
the article's topic nouns, people, places, numbers and weekdays. That last step is what makes the
zlib ratios realistic: real news keeps meeting words it has not used for a while. Tuned to issue 6's
measurements of real news: zlib level 6 per article about 0.52 of raw, one stream over the whole
corpus about 0.39 (`stats` prints both). Same seed, same bytes, on any machine and any --jobs.
Articles are spread over DIR/YYYY/MM/ by publication date; ids are `NNNNNN_<16 hex>`, counting up
with time as in a real archive.
"""

import argparse
import datetime
import hashlib
import math
import os
import random
import re
import shutil
import sys
import time
import traceback
import subprocess
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
PROSE_PATH = os.path.join(HERE, "bench-lib", "prose_de.txt")
SAMPLE_SEED = os.path.join(HERE, "..", "seeds", "000_2f910ce6754fa13e.txt")

# The sample article's category; ours are the usual sections of a German news site.
SAMPLE_CATEGORY = "Welt Nachrichten"


# The mix, tuned against issue 6's measurements of real news (zlib-6: 0.52 per article, 0.39 as
# one stream). Environment overrides exist for re-tuning only; the defaults are the corpus.
def _knob(name, default):
    return type(default)(os.environ.get("CORPUS_" + name, default))


P_REAL = _knob("P_REAL", 0.02)          # a real sentence of the prose, as written
P_QUOTE = _knob("P_QUOTE", 0.12)        # a quote with its speaker
P_BACKOFF = _knob("P_BACKOFF", 1.0)     # order-1 step where the order-2 state has one successor
P_COMPOUND = _knob("P_COMPOUND", 0.1)   # a noun gets a compound stem ("Landes" + "regierung")
P_SWAP = _knob("P_SWAP", 0.1)           # a word swapped for another of the prose of its kind
P_TOPIC = _knob("P_TOPIC", 0.08)        # a noun becomes one of the article's topic nouns
P_TAIL = _knob("P_TAIL", 0.8)           # a content word becomes a word of the German frequency list
TOPIC_NOUNS = _knob("TOPIC_NOUNS", 8)
POOL_SIZE = _knob("POOL", 24000)        # sentence templates; an article sees ~25, a 32 KB window ~300
TAIL_FIRST_RANK = _knob("TAIL_FIRST_RANK", 1000)
TAIL_TABLE_BITS = 18
MEAN_LOG_BYTES, SIGMA_LOG_BYTES = 7.88, 0.5   # lognormal sizes: median ~2.6 KB, mean ~3 KB
MIN_ARTICLE_BYTES, MAX_ARTICLE_BYTES = 1000, 8000
FIRST_YEAR, LAST_YEAR = 2016, 2025
WORDFREQ = "wordfreq==3.1.1"   # pinned: the corpus must be the same bytes on every machine
# Endings that mark a German noun in wordfreq's lowercase list, so it can be capitalised.
NOUN_ENDINGS = ("ung", "heit", "keit", "schaft", "tion", "sion", "tät", "nis", "ismus", "ment", "ling",
                "tur", "ität", "haus", "platz", "werk", "zeit", "land", "stadt", "markt", "recht", "bahn",
                "amt", "rat", "partei", "gruppe", "zentrum", "gebiet", "bereich", "system", "politik",
                "arbeit", "frage", "kraft", "krieg", "preis", "programm", "projekt", "lage", "leute",
                "männer", "frauen", "kinder", "jahr", "jahre", "jahren", "woche", "wochen", "monate",
                "monaten", "schule", "straße", "firma", "verein")
# Endings of verb forms and adjectives: the lowercase words that may stand in for the prose's.
VERB_ADJ_ENDINGS = ("en", "lich", "ig", "isch", "te", "ten", "et", "ert", "elt", "iert", "bar", "sam", "los")
# Words of the frequency list a news archive would not print.
BLOCKED = set("""schlampe scheiße scheisse arschloch wichser fotze hurensohn ficken fickt gefickt
nutte schwuchtel""".split())

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
CITY_SET = set(CITIES)
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
PUNCT = ".,;:!?„“()"

# Slot codes of a sentence template (see SentencePool.fill).
WL, WU, NOUN, INT, PCT, YEAR, DAY, MONTH, CITY, SPEAKER = range(10)


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
    # Our prose has no abbreviations: a sentence ends at .!? before a capital or an opening quote.
    parts = re.split(r"(?<=[.!?])\s+(?=[A-ZÄÖÜ„])", paragraph)
    return [p.strip() for p in parts if p.strip()]


def word_kind(word):
    return (word[0].isupper(), word[-2:])


def german_words():
    """Real German words by frequency, from wordfreq's packaged data (never fetched at run time)."""
    try:
        import wordfreq
    except ImportError:
        print("corpus.py: installing %s (German word frequencies)" % WORDFREQ, file=sys.stderr)
        r = subprocess.run([sys.executable, "-m", "pip", "install", "-q", WORDFREQ])
        if r.returncode != 0:
            sys.exit("corpus.py: cannot install %s; run `%s -m pip install %s` and try again"
                     % (WORDFREQ, sys.executable, WORDFREQ))
        import importlib
        importlib.invalidate_caches()
        import wordfreq
    words = wordfreq.top_n_list("de", 100000)
    return [w for w in words if len(w) >= 5 and w.isalpha() and w not in BLOCKED]


def is_content(core):
    return len(core) >= 5 and core.isalpha() and core not in PROPER and core not in CITY_SET


class Lexicon:
    """What the generator draws from: real sentences, a Markov chain, nouns, a frequency list."""

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
        self.nouns = []
        self.noun_set = {}
        # Words of one kind (capitalised or not, same last two letters) stand in for each other
        # with their frequencies: "gestiegen" for "geeinigt", "Verkäufe" for "Proteste".
        self.kinds = {}
        for s in self.all_sentences:
            for i, w in enumerate(s.split()):
                core = w.strip(PUNCT)
                if i == 0 or not is_content(core):
                    continue
                self.kinds.setdefault(word_kind(core), []).append(core)
                if core[0].isupper() and core not in self.noun_set:
                    self.noun_set[core] = True
                    self.nouns.append(core)
        # Real news keeps meeting words it has not used for a while: names, places, topics. Draw
        # those from the frequency list with ranks log-uniform, i.e. token frequency ~ 1/rank
        # (Zipf); two precomputed tables make a draw one getrandbits call.
        words = german_words()
        lo = math.log(TAIL_FIRST_RANK)
        table_rng = random.Random("tail-table")
        # Noun endings first ("jahren" is a noun), then verb and adjective endings; the rest are
        # mostly nouns and names, which German capitalises.
        is_lower = [not w.endswith(NOUN_ENDINGS) and w.endswith(VERB_ADJ_ENDINGS) for w in words]
        nouns = [w for w, low in zip(words, is_lower) if not low]
        others = [w for w, low in zip(words, is_lower) if low]
        size = 1 << TAIL_TABLE_BITS

        def table(ws, cap):
            hi_w = math.log(len(ws))
            lo_w = min(lo, hi_w - 1)
            out = []
            for _ in range(size):
                w = ws[int(math.exp(table_rng.uniform(lo_w, hi_w))) - 1]
                out.append(w[0].upper() + w[1:] if cap else w)
            return out

        self.tail_lower = table(others, False)
        self.tail_upper = table(nouns, True)


class SentencePool:
    """A fixed pool of sentence templates; an article fills their slots with its own words."""

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
            # \x01 keeps the verb of saying out of the word swaps: "sagte" must stay "sagte".
            s = "„%s“, \x01%s \x00%d." % (quote, rng.choice(SAY).replace(" ", "\x01"), SPEAKER)
        else:
            s = self._markov(category, 6, 34)
        return self._vary(s)

    def _markov(self, category, min_words, max_words):
        rng = self.rng
        chain, chain1 = self.lex.chain, self.lex.chain1
        for _attempt in range(8):
            w1, w2 = rng.choice(self.lex.starts[category])
            words = [w1, w2]
            while len(words) < max_words:
                nxt = chain.get((w1, w2))
                if not nxt:
                    break
                if rng.random() < P_BACKOFF and all(x == nxt[0] for x in nxt):
                    nxt = chain1.get(w2, nxt)
                w = rng.choice(nxt)
                words.append(w)
                w1, w2 = w2, w
                if w[-1] in ".!?" and not NUMBER_RE.match(w):
                    break
            if len(words) >= min_words and words[-1][-1] in ".!?":
                return " ".join(words)
        return rng.choice(self.lex.sentences[category])

    def _vary(self, sentence):
        rng = self.rng
        kinds = self.lex.kinds
        out = []
        for i, w in enumerate(sentence.split(" ")):
            core = w.strip(PUNCT)
            if i > 0 and core in kinds.get(word_kind(core), ()) and rng.random() < P_SWAP:
                new = rng.choice(kinds[word_kind(core)])
                w = w.replace(core, new, 1)
                core = new
            if i > 0 and core in self.lex.noun_set and is_content(core) and rng.random() < P_COMPOUND:
                stem = rng.choice(STEMS)
                if not core.lower().startswith(stem.lower()):
                    w = w.replace(core, stem + core.lower(), 1)
            out.append(w)
        return " ".join(out)

    def _template(self, sentence):
        """A tuple: literal, slot code, literal, slot code, …, literal."""
        rng = self.rng
        parts = [""]

        def slot(code, tail):
            parts.append(code)
            parts.append(tail)

        for i, w in enumerate(sentence.split(" ")):
            sep = " " if i else ""
            m = NUMBER_RE.match(w)
            core = w.strip(PUNCT)
            lead = w[: w.index(core)] if core else ""
            tail = w[len(lead) + len(core):]
            if w.startswith("\x01"):
                parts[-1] += sep + w[1:].replace("\x01", " ")
            elif w.startswith("\x00"):
                parts[-1] += sep
                slot(int(w[1:].rstrip(".")), w[len(w.rstrip(".")):])
            elif m and any(ch.isdigit() for ch in m.group(1)):
                num = m.group(1)
                code = PCT if "," in num else (YEAR if len(num) == 4 and num[:2] in ("19", "20") else INT)
                parts[-1] += sep
                slot(code, m.group(2))
            elif core in WEEKDAYS or core in CITY_SET or core in MONTHS:
                parts[-1] += sep + lead
                slot(DAY if core in WEEKDAYS else (CITY if core in CITY_SET else MONTH), tail)
            elif i > 0 and core in self.lex.noun_set and is_content(core) and rng.random() < P_TOPIC:
                parts[-1] += sep + lead
                slot(NOUN, tail)
            elif i > 0 and is_content(core) and rng.random() < P_TAIL:
                parts[-1] += sep + lead
                slot(WU if core[0].isupper() else WL, tail)
            else:
                parts[-1] += sep + w
        return tuple(parts)

    def topic(self, rng):
        """What one article is about: its own nouns, people and places, named again and again.

        Real news repeats an article's few specific words within it and rarely elsewhere; that
        is why a stream over many articles compresses only a little better than each alone."""
        nouns = []
        for _ in range(TOPIC_NOUNS):
            head = rng.choice(self.lex.nouns)
            nouns.append(rng.choice(STEMS) + head.lower() if rng.random() < 0.8 else head)
        people = []
        for _ in range(3):
            role = rng.choice(ROLES).strip()
            names = FEMALE_NAMES if role.startswith("die") else MALE_NAMES
            people.append("%s %s %s" % (role, rng.choice(names), rng.choice(LAST_NAMES)))
        return (nouns, people, [rng.choice(CITIES) for _ in range(2)])

    def fill(self, template, rng, topic):
        bits = rng.getrandbits
        r = rng.random
        lower, upper = self.lex.tail_lower, self.lex.tail_upper
        out = [template[0]]
        for k in range(1, len(template), 2):
            code = template[k]
            if code == WL:
                out.append(lower[bits(TAIL_TABLE_BITS)])
            elif code == WU:
                out.append(upper[bits(TAIL_TABLE_BITS)])
            elif code == NOUN:
                # Earlier topic nouns are the article's main subject: named most often.
                nouns = topic[0]
                out.append(nouns[min(int(rng.expovariate(0.4)), len(nouns) - 1)])
            elif code == INT:
                x = r()
                out.append(str(int(2 + 28 * r()) if x < 0.5 else (int(10 + 990 * r()) if x < 0.8 else int(1000 + 99000 * r()))))
            elif code == PCT:
                out.append("%d,%d" % (int(13 * r()), int(10 * r())))
            elif code == YEAR:
                out.append(str(1990 + int(51 * r())))
            elif code == DAY:
                out.append(WEEKDAYS[int(7 * r())])
            elif code == MONTH:
                out.append(MONTHS[int(12 * r())])
            elif code == CITY:
                out.append(topic[2][int(2 * r())] if r() < 0.7 else CITIES[int(len(CITIES) * r())])
            elif code == SPEAKER:
                out.append(topic[1][int(3 * r())])
            out.append(template[k + 1])
        s = "".join(out)
        return s[0].upper() + s[1:] if s[:1].islower() else s

    def sentence(self, category, rng, topic):
        pool = self.by_category[category]
        return self.fill(pool[int(len(pool) * rng.random())], rng, topic)


class ArticleWriter:
    def __init__(self, seed):
        self.seed = seed
        self.lex = Lexicon()
        self.pool = SentencePool(self.lex, random.Random("pool-%s" % seed))

    def article_id(self, index):
        digest = hashlib.sha256(("%s/%d" % (self.seed, index)).encode()).hexdigest()[:16]
        return "%06d_%s" % (index, digest)

    def title(self, category, rng, topic):
        """A headline: the start of a sentence up to a noun, sometimes led by the topic."""
        s = self.pool.sentence(category, rng, topic).strip("„")
        words = re.split(r"[,;:“]", s)[0].rstrip(".!?").split()
        limit = rng.randint(4, 9)
        cut = limit
        for j in range(min(limit, len(words)) - 1, 1, -1):
            if words[j][:1].isupper():
                cut = j + 1
                break
        t = " ".join(words[:cut]).strip(",.;:")
        if rng.random() < 0.3:
            t = "%s: %s" % (topic[0][0], t)
        return t or category

    def paragraph(self, category, rng, topic):
        return " ".join(self.pool.sentence(category, rng, topic) for _ in range(rng.randint(2, 5)))

    def render(self, when, category, title, paragraphs):
        head = "Veröffentlichungsdatum: %02d.%02d.%04d %02d:%02d / %s" % (
            when.day, when.month, when.year, when.hour, when.minute, category)
        return "\n\n".join([head, title, title] + paragraphs)

    def article(self, index, when):
        rng = random.Random("article-%s-%d" % (self.seed, index))
        category = self.lex.categories[int(len(self.lex.categories) * rng.random())]
        target = int(min(MAX_ARTICLE_BYTES, max(MIN_ARTICLE_BYTES, rng.lognormvariate(MEAN_LOG_BYTES, SIGMA_LOG_BYTES))))
        topic = self.pool.topic(rng)
        title = self.title(category, rng, topic)
        size = 60 + 2 * len(title.encode("utf-8"))
        paras = []
        while size < target:
            p = self.paragraph(category, rng, topic)
            paras.append(p)
            size += len(p.encode("utf-8")) + 2
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
    """Write text as UTF-8 with no newline added (the seed format has none at the end)."""
    with open(path, "wb") as f:
        f.write(text.encode("utf-8"))


def _generate_part(writer, out, plan, part, parts):
    total = 0
    for i in range(part, len(plan), parts):
        rel, when = plan[i]
        text = writer.article(i, when).encode("utf-8")
        with open(os.path.join(out, rel), "wb") as f:
            f.write(text)
        total += len(text)
    return total


def cmd_generate(args):
    t0 = time.monotonic()
    writer = ArticleWriter(args.seed)
    times = article_times(args.n, args.seed)
    plan = [(rel_path(writer.article_id(i), when), when) for i, when in enumerate(times)]
    for d in sorted(set(os.path.dirname(rel) for rel, _ in plan)):
        os.makedirs(os.path.join(args.out, d), exist_ok=True)
    # Each article has its own random stream, so splitting the work changes no byte. Forked
    # workers share the lexicon and the pool that the parent built.
    parts = max(1, min(args.jobs, args.n // 2000 or 1))
    pids = []
    rfds = []
    for part in range(1, parts):
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            code = 1
            try:
                os.write(w, b"%d" % _generate_part(writer, args.out, plan, part, parts))
                code = 0
            except BaseException:
                traceback.print_exc()
            finally:
                os._exit(code)
        os.close(w)
        pids.append(pid)
        rfds.append(r)
    total = _generate_part(writer, args.out, plan, 0, parts)
    failed = False
    for pid, r in zip(pids, rfds):
        with os.fdopen(r, "rb") as f:
            got = f.read()
        _, status = os.waitpid(pid, 0)
        if status != 0 or not got:
            failed = True
        else:
            total += int(got)
    if failed:
        sys.exit("corpus.py generate: a worker failed; %s is incomplete" % args.out)
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
    head = blocks[0]
    category = head.split(" / ", 1)[1]
    if category not in writer.pool.by_category:
        category = writer.lex.categories[0]
    first_body = 3 if len(blocks) > 3 else len(blocks)
    if first_body >= len(blocks):
        blocks.append(writer.paragraph(category, rng, writer.pool.topic(rng)))
        return "\n\n".join(blocks)
    k = rng.randrange(first_body, len(blocks))
    sentences = split_sentences(blocks[k])
    j = rng.randrange(len(sentences))
    topic = writer.pool.topic(rng)
    sentences[j] = writer.pool.sentence(category, rng, topic)
    sentences.insert(rng.randrange(len(sentences) + 1), writer.pool.sentence(category, rng, topic))
    blocks[k] = " ".join(sentences)
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


def cmd_replicate(args):
    """K copies of a corpus under new ids, hard links to its files (a million articles in seconds).

    Copy k lives under DIR2/copy-k/ with ids counting on from the largest index (`NNNNNN_<hex>`,
    the hex derived from the copy and the index), so every id is new while each copy is the same
    text. The copies are a whole corpus apart in name order (rsync's) and in import order (ours):
    no compressor window holds an article and its copy at once.
    """
    t0 = time.monotonic()
    paths = list_articles(args.inp)
    if not paths:
        sys.exit("corpus.py replicate: no .txt articles under %s" % args.inp)
    if os.path.exists(args.out):
        shutil.rmtree(args.out)
    n = len(paths)
    for k in range(args.copies):
        top = os.path.join(args.out, "copy-%02d" % k)
        for j, rel in enumerate(paths):
            index = k * n + j
            aid = "%07d_%s" % (index, hashlib.sha256(("copy-%d/%d" % (k, index)).encode()).hexdigest()[:16])
            dst = os.path.join(top, os.path.dirname(rel), aid + ".txt")
            d = os.path.dirname(dst)
            if not os.path.isdir(d):
                os.makedirs(d)
            os.link(os.path.join(args.inp, rel), dst)
    print("replicated %d articles %d times (%d), in %.1f s -> %s" % (n, args.copies, n * args.copies,
                                                                     time.monotonic() - t0, args.out))


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
    # A naive 32 KB preset dictionary (the tail of the first 64 articles) tried on up to 2,000
    # others, for orientation only; the store builds a better one (PROTOCOL.md §7.3).
    zdict = b"".join(dict_sample)[-32768:]
    probe = paths[64::max(1, len(paths) // 2000)] or paths
    dict_raw = dict_packed = 0
    for rel in probe:
        with open(os.path.join(args.dir, rel), "rb") as f:
            data = f.read()
        c = zlib.compressobj(6, zdict=zdict)
        dict_raw += len(data)
        dict_packed += len(c.compress(data) + c.flush())
    sizes.sort()
    print("articles:            %d%s" % (len(paths), " (sampled)" if args.sample else ""))
    print("raw bytes:           %d (%.1f MB)" % (raw, raw / 1e6))
    print("article size:        avg %.0f  min %d  median %d  p99 %d  max %d bytes" % (
        raw / len(sizes), sizes[0], sizes[len(sizes) // 2], sizes[int(len(sizes) * 0.99)], sizes[-1]))
    print("categories:          %d (%s)" % (len(cats), ", ".join("%s %d" % kv for kv in sorted(cats.items()))))
    print("zlib-6 per article:  %.3f of raw" % (per / raw))
    print("zlib-6 one stream:   %.3f of raw" % (streamed / raw))
    print("zlib-6 naive dict:   %.3f of raw (32 KB of sample text as preset dictionary)" % (dict_packed / dict_raw))
    print("(%.1f s)" % (time.monotonic() - t0))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("generate", help="write N articles under DIR/YYYY/MM/")
    g.add_argument("--n", type=int, required=True)
    g.add_argument("--out", required=True)
    g.add_argument("--seed", default="1")
    g.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="worker processes (output is the same)")
    m = sub.add_parser("mutate", help="1%% edited, 0.5%% new, 0.1%% deleted")
    m.add_argument("--in", dest="inp", required=True)
    m.add_argument("--out")
    m.add_argument("--in-place", action="store_true")
    m.add_argument("--seed", default="1")
    r = sub.add_parser("replicate", help="K copies of a corpus under new ids (hard links)")
    r.add_argument("--in", dest="inp", required=True)
    r.add_argument("--copies", type=int, required=True)
    r.add_argument("--out", required=True)
    s = sub.add_parser("stats", help="sizes and zlib ratios of a corpus")
    s.add_argument("dir")
    s.add_argument("--sample", type=int, default=0, help="look at K evenly spread articles only")
    args = ap.parse_args()
    {"generate": cmd_generate, "mutate": cmd_mutate, "replicate": cmd_replicate, "stats": cmd_stats}[args.cmd](args)


if __name__ == "__main__":
    main()
