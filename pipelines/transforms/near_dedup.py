"""Stage 8 in Beam: MinHash LSH near-dedup, and stage 9 (decontamination) on the same machinery.

Every shuffle carries ids, order keys, band keys and signatures, never text: documents meet their decisions through
a side input of ids. The graph, top to bottom:

  Signatures      doc -> band records ((band, digest), member) and (id, signature bytes)
  Buckets         CombinePerKey with a bounded accumulator (a count and the best few members), never the whole list
  CandidatePairs  all pairs of a bucket of at most `hot_bucket_size`; a hot bucket's best members (its heads) go to a
                  side input, and every record of that bucket pairs with its heads as it streams past; distinct
  Verify          two joins by id bring both signatures to a pair; the estimated Jaccard decides it, except within
                  `exact_check_sigmas` of the threshold, where the exact shingle Jaccard does
  Components      `component_rounds` rounds of Hash-to-Min over the edges (each one shuffle of order keys); a
                  node's label is the smallest member of its cluster
  Resolve         one group per component (ids and edges only): greedy survivor choice in priority order
  Guard           an edge whose ends never met in one component (too few rounds) keeps only its better end
  Apply           documents meet their decisions through a side input (ids of documents in verified pairs)
"""

from __future__ import annotations

import dataclasses
import heapq
from typing import Any, Iterable

import apache_beam as beam
import numpy as np

from corpus.config import Config, MinHashConfig, SourceConfig
from corpus.dedup.minhash import (EXACT, YES, Banding, band_keys, choose_banding, dedup_words,
                                  estimated_jaccard, exact_jaccard, ngram_keys, order_key, resolve_component,
                                  shingle_set, short_key, text_signature, verification)
from corpus.document import Rejection
from pipelines.transforms.read import ReadFiles, list_source_files

MINHASH_SEED = 1          # datasketch's default seed, so a signature can be checked with MinHash(num_perm)
BUCKET_HEADS = 8          # a member of a hot bucket is paired with this many of the bucket's best members
SHORT_BAND = -1           # the "band" of documents too short for one shingle: their whole dedup key
EVAL_SOURCE = "evaluation"


def banding_for(mh: MinHashConfig) -> Banding:
    if mh.bands is not None and mh.rows is not None:
        return Banding(mh.bands, mh.rows)
    return choose_banding(mh.num_perm, mh.threshold)


class ComputeSignatures(beam.DoFn):
    """doc -> main: band records ((band, key), (order, id, cluster_size)); `signatures`: (id, signature bytes)."""

    SIGNATURES = "signatures"

    def __init__(self, mh: MinHashConfig, priorities: dict[str, int], default_priority: int = 0):
        self._mh = mh
        self._banding = banding_for(mh)
        self._priorities = priorities
        self._default_priority = default_priority

    def process(self, doc) -> Iterable[Any]:
        words = dedup_words(doc.text)
        # An empty key (no words at all) is never anyone's duplicate: nothing is emitted for it.
        member = (order_key(self._priorities.get(doc.source, self._default_priority), doc.id),
                  doc.cluster_size)
        if 0 < len(words) < self._mh.ngram:
            yield (SHORT_BAND, short_key(words)), member
        elif words:
            sig = text_signature(words, self._mh.ngram, self._mh.num_perm, MINHASH_SEED)
            for key in band_keys(sig, self._banding):
                yield key, member
            yield beam.pvalue.TaggedOutput(self.SIGNATURES, (doc.id, sig.tobytes()))


class BucketMembers(beam.CombineFn):
    """(count, the `cap` best members): a bucket shared by millions of pages stays a bounded accumulator."""

    def __init__(self, cap: int):
        self._cap = cap

    def create_accumulator(self):
        return 0, []

    def add_input(self, acc, member):
        count, best = acc
        best.append(member)
        if len(best) > 2 * self._cap:
            best = heapq.nsmallest(self._cap, best)
        return count + 1, best

    def merge_accumulators(self, accs):
        count, best = 0, []
        for c, b in accs:
            count += c
            best = heapq.nsmallest(self._cap, best + b)
        return count, best

    def extract_output(self, acc):
        count, best = acc
        return count, heapq.nsmallest(self._cap, best)


def _tag_pair(band: int, pair):
    # Documents in the short band share their whole dedup key: verified by construction.
    return beam.pvalue.TaggedOutput("verified", pair) if band == SHORT_BAND else pair


def _pairs_of_bucket(element, hot_size: int):
    """A bucket of at most `hot_size` members gives all its pairs; a hot one only its heads (for the side input)."""
    (band, digest), (count, members) = element
    if count > hot_size:
        yield beam.pvalue.TaggedOutput("hot", ((band, digest), (count, members[:BUCKET_HEADS])))
        return
    for i, a in enumerate(members):
        for b in members[i + 1:]:
            yield _tag_pair(band, (a, b))


class _PairWithHeads(beam.DoFn):
    """A band record of a hot bucket -> a pair with each of the bucket's better heads. The heads arrive as a side
    input, so a bucket shared by millions of pages is never grouped: its records stream past once."""

    def process(self, element, hot):
        key, member = element
        found = hot.get(key)
        if found is not None:
            for head in found[1]:
                if head[0] < member[0]:
                    yield _tag_pair(key[0], (head, member))


def _attach_first_signature(element):
    _, grouped = element
    sigs = list(grouped["sig"])
    for pair in grouped["pair"]:
        yield pair[1][0][1], (pair, sigs[0])


def _judge(element, threshold: float, num_perm: int, sigmas: float):
    _, grouped = element
    sigs = list(grouped["sig"])
    for pair, sig_a in grouped["half"]:
        estimate = estimated_jaccard(np.frombuffer(sig_a, np.uint32), np.frombuffer(sigs[0], np.uint32))
        verdict = verification(estimate, threshold, num_perm, sigmas)
        if verdict == YES:
            yield pair
        elif verdict == EXACT:
            yield beam.pvalue.TaggedOutput(EXACT, pair)


class _ShingleSets(beam.DoFn):
    """doc -> (id, sorted 64-bit shingle keys) for the few documents in a pair that needs the exact check."""

    def __init__(self, ngram: int):
        self._ngram = ngram

    def process(self, doc, wanted):
        if doc.id in wanted:
            yield doc.id, shingle_set(dedup_words(doc.text), self._ngram).tobytes()


def _exact_check(element, threshold: float):
    _, grouped = element
    sets = list(grouped["sig"])
    for pair, set_a in grouped["half"]:
        if exact_jaccard(np.frombuffer(set_a, np.uint64), np.frombuffer(sets[0], np.uint64)) >= threshold:
            yield pair


def _first_id(pair):
    return pair[0][0][1]


def _second_id(pair):
    return pair[1][0][1]


class VerifyPairs(beam.PTransform):
    """(pairs, first signatures, second signatures, first docs, second docs) -> (verified pairs, exact-checked).

    A pair is ((order, size), (order, size)) whose ids key the first and second collections. The signature
    estimate decides every pair away from the threshold; pairs within `sigmas` standard deviations of it are
    decided by their exact shingle Jaccard. Only the documents of those pairs compute shingle sets (their ids
    reach the docs as a side input, so the text itself is never shuffled)."""

    def __init__(self, threshold: float, num_perm: int, sigmas: float, ngram: int):
        super().__init__()
        self._threshold = threshold
        self._num_perm = num_perm
        self._sigmas = sigmas
        self._ngram = ngram

    def _join(self, label, first, second, pairs, fn, *args):
        halves = ({"sig": first, "pair": pairs | f"{label}ByFirst" >> beam.Map(lambda p: (_first_id(p), p))}
                  | f"{label}JoinFirst" >> beam.CoGroupByKey()
                  | f"{label}AttachFirst" >> beam.FlatMap(_attach_first_signature))
        return ({"sig": second, "half": halves} | f"{label}JoinSecond" >> beam.CoGroupByKey()
                | f"{label}Decide" >> fn(*args))

    def expand(self, inputs):
        pairs, sigs_first, sigs_second, docs_first, docs_second = inputs
        judged = self._join("Estimate", sigs_first, sigs_second, pairs,
                            lambda *a: beam.FlatMap(_judge, *a).with_outputs(EXACT, main="yes"),
                            self._threshold, self._num_perm, self._sigmas)
        uncertain = judged[EXACT]
        wanted_first = (uncertain | "FirstIds" >> beam.Map(lambda p: (_first_id(p), None))
                        | "DistinctFirstIds" >> beam.Distinct())
        wanted_second = (uncertain | "SecondIds" >> beam.Map(lambda p: (_second_id(p), None))
                         | "DistinctSecondIds" >> beam.Distinct())
        sets_first = docs_first | "FirstShingleSets" >> beam.ParDo(_ShingleSets(self._ngram),
                                                                   beam.pvalue.AsDict(wanted_first))
        sets_second = docs_second | "SecondShingleSets" >> beam.ParDo(_ShingleSets(self._ngram),
                                                                      beam.pvalue.AsDict(wanted_second))
        exact = self._join("Exact", sets_first, sets_second, uncertain, beam.FlatMap, _exact_check,
                           self._threshold)
        verified = (judged.yes, exact) | "Verified" >> beam.Flatten()
        return verified, uncertain


def _ends(edge):
    a, b = edge
    yield a[0][1], a
    yield b[0][1], b


def _half_edges(edge):
    """Each end of an edge: (its id, (its order key, the other end's order key))."""
    a, b = edge
    yield a[0][1], (a[0], b[0])
    yield b[0][1], (b[0], a[0])


def _initial_cluster(element):
    """(id, half edges) -> (id, its cluster: its own order key and its neighbours')."""
    doc_id, halves = element
    cluster = set()
    for own, other in halves:
        cluster.add(own)
        cluster.add(other)
    return doc_id, frozenset(cluster)


def _hash_to_min(state):
    """One round of Hash-to-Min (Rastogi et al. 2013, "Finding connected components in map-reduce in logarithmic
    rounds"): a node sends its whole cluster to the cluster's smallest member and that member to everyone in it.
    A path of length d is joined in about log2(d) rounds where plain min-label propagation needs d."""
    _, cluster = state
    smallest = min(cluster)
    yield smallest[1], cluster
    for member in cluster:
        yield member[1], frozenset((smallest,))


def _merge_clusters(element):
    doc_id, clusters = element
    return doc_id, frozenset().union(*clusters)


def _label_edge_first(element):
    _, grouped = element
    label = min(grouped["label"])
    for edge in grouped["edge"]:
        yield edge[1][0][1], (edge, label)


def _label_edge_second(element):
    _, grouped = element
    label = min(grouped["label"])
    for edge, label_a in grouped["half"]:
        if label_a == label:
            yield beam.pvalue.TaggedOutput("inside", (label, edge))
        else:
            yield beam.pvalue.TaggedOutput("across", edge)


def _resolve(element):
    _, grouped = element
    members = {m[0][1]: m for m in grouped["member"]}
    edges = [(a[0][1], b[0][1]) for a, b in grouped["edge"]]
    decisions = resolve_component([(m[0], doc_id) for doc_id, m in members.items()], edges)
    absorbed: dict[str, int] = {}
    for doc_id, survivor in decisions:
        if survivor is not None:
            absorbed[survivor] = absorbed.get(survivor, 0) + members[doc_id][1]
    for doc_id, survivor in decisions:
        if survivor is None:
            yield doc_id, ("keep", members[doc_id][1] + absorbed.get(doc_id, 0))
        else:
            yield doc_id, ("drop", survivor)


def _guard_first(element):
    _, grouped = element
    decision = list(grouped["decision"])
    for edge in grouped["edge"]:
        yield edge[1][0][1], (edge, decision[0] if decision else ("keep", 1))


def _guard_second(element):
    doc_id, grouped = element
    decision = list(grouped["decision"])
    mine = decision[0] if decision else ("keep", 1)
    for edge, theirs in grouped["half"]:
        if theirs[0] == "keep" and mine[0] == "keep":
            yield doc_id, ("drop", edge[0][0][1])


def _final_decision(element):
    doc_id, decisions = element
    decisions = list(decisions)
    drops = sorted(d for d in decisions if d[0] == "drop")
    return doc_id, drops[0] if drops else decisions[0]


class FindNearDuplicates(beam.PTransform):
    """docs -> (decisions (id, ("keep", cluster size) | ("drop", survivor id)), stats count records).

    Only documents that take part in a verified pair get a decision."""

    def __init__(self, mh: MinHashConfig, priorities: dict[str, int]):
        super().__init__()
        self._mh = mh
        self._priorities = priorities

    def expand(self, docs):
        mh = self._mh
        hot_size = mh.hot_bucket_size
        sig = docs | "Signatures" >> beam.ParDo(ComputeSignatures(mh, self._priorities)).with_outputs(
            ComputeSignatures.SIGNATURES, main="bands")
        buckets = (sig.bands
                   | "Buckets" >> beam.CombinePerKey(BucketMembers(max(hot_size, BUCKET_HEADS)))
                   | "CandidatePairs" >> beam.FlatMap(_pairs_of_bucket, hot_size).with_outputs(
                       "hot", "verified", main="pairs"))
        hot = buckets.hot
        hot_pairs = sig.bands | "HotBucketPairs" >> beam.ParDo(_PairWithHeads(), beam.pvalue.AsDict(hot)).with_outputs(
            "verified", main="pairs")
        candidates = ((buckets.pairs, hot_pairs.pairs)
                      | "AllCandidates" >> beam.Flatten()
                      | "DistinctCandidates" >> beam.Distinct())
        verified, uncertain = ((candidates, sig.signatures, sig.signatures, docs, docs)
                               | "Verify" >> VerifyPairs(mh.threshold, mh.num_perm, mh.exact_check_sigmas, mh.ngram))
        edges = ((verified, buckets.verified, hot_pairs.verified)
                 | "AllEdges" >> beam.Flatten()
                 | "DistinctEdges" >> beam.Distinct())

        members = (edges
                   | "Members" >> beam.FlatMap(_ends)
                   | "DistinctMembers" >> beam.Distinct())
        # Components by Hash-to-Min: one shuffle of order keys per round. A node's label is its cluster's smallest
        # member; after enough rounds every node of a component has the same label (its best document).
        clusters = (edges
                    | "HalfEdges" >> beam.FlatMap(_half_edges)
                    | "NeighbourLists" >> beam.GroupByKey()
                    | "InitialClusters" >> beam.Map(_initial_cluster))
        for i in range(mh.component_rounds):
            clusters = (clusters
                        | f"Round{i + 1}Send" >> beam.FlatMap(_hash_to_min)
                        | f"Round{i + 1}Group" >> beam.GroupByKey()
                        | f"Round{i + 1}Merge" >> beam.Map(_merge_clusters))
        labels = clusters | "Labels" >> beam.Map(lambda kv: (kv[0], min(kv[1])))
        first = ({"label": labels, "edge": edges | "EdgeByFirst" >> beam.Map(lambda e: (e[0][0][1], e))}
                 | "LabelEdgesFirst" >> beam.CoGroupByKey()
                 | "AttachFirstLabel" >> beam.FlatMap(_label_edge_first))
        labelled = ({"label": labels, "half": first}
                    | "LabelEdgesSecond" >> beam.CoGroupByKey()
                    | "SplitByComponent" >> beam.FlatMap(_label_edge_second).with_outputs("inside", "across"))
        member_by_label = ({"label": labels, "member": members}
                           | "JoinMemberLabels" >> beam.CoGroupByKey()
                           | "MemberByLabel" >> beam.FlatMap(
                               lambda kv: [(min(kv[1]["label"]), m) for m in kv[1]["member"]]))
        resolved = ({"member": member_by_label, "edge": labelled.inside}
                    | "GroupComponents" >> beam.CoGroupByKey()
                    | "Resolve" >> beam.FlatMap(_resolve))

        across = labelled.across
        guard_half = ({"decision": resolved, "edge": across | "AcrossByFirst" >> beam.Map(lambda e: (e[0][0][1], e))}
                      | "GuardJoinFirst" >> beam.CoGroupByKey()
                      | "GuardAttach" >> beam.FlatMap(_guard_first))
        guarded = ({"decision": resolved, "half": guard_half}
                   | "GuardJoinSecond" >> beam.CoGroupByKey()
                   | "GuardSurvivorPairs" >> beam.FlatMap(_guard_second))
        decisions = ((resolved, guarded)
                     | "AllDecisions" >> beam.Flatten()
                     | "DecisionsById" >> beam.GroupByKey()
                     | "FinalDecision" >> beam.Map(_final_decision))

        def count(label, pcoll, name):
            return pcoll | label >> beam.Map(lambda _: (("dedup", "near", name, ""), (1, 0)))

        stats = [hot | "CountHotBuckets" >> beam.Map(lambda kv: (("dedup", "near", "hot_buckets", ""),
                                                                  (1, kv[1][0]))),
                 count("CountCandidates", candidates, "candidate_pairs"),
                 count("CountExactChecks", uncertain, "exact_checked_pairs"),
                 count("CountEdges", edges, "verified_pairs"),
                 count("CountAcross", across, "unconverged_edges")]
        return decisions, stats


def _apply(doc, decisions, stage: str, reason: str):
    decision = decisions.get(doc.id)
    if decision is None:
        yield doc
    elif decision[0] == "keep":
        doc.cluster_size = decision[1]
        yield doc
    else:
        yield beam.pvalue.TaggedOutput("rejected", Rejection.of(doc, stage, reason, duplicate_of=decision[1]))


class ApplyDecisions(beam.PTransform):
    """Documents meet their decisions (one per id, only for documents in a verified pair) through a side input:
    kept documents (with cluster size) and rejections. No shuffle carries text; the side input holds ids only."""

    def __init__(self, stage: str, reason: str):
        super().__init__()
        self._stage = stage
        self._reason = reason

    def expand(self, pcolls):
        docs, decisions = pcolls
        # A collection of its own for the main input: the FnApiRunner would otherwise fuse this step with the
        # exact check's steps that read `docs` too, and a stage cannot wait for a side input its own output feeds.
        own = docs | "OwnInput" >> beam.Map(lambda d: d)
        results = own | "Apply" >> beam.FlatMap(_apply, beam.pvalue.AsDict(decisions), self._stage,
                                                 self._reason).with_outputs("rejected", main="kept")
        return results.kept, results.rejected


def _eval_pairs(element):
    (band, _), grouped = element
    evals = sorted(grouped["eval"])
    if not evals:
        return
    for member in grouped["doc"]:
        for ev in evals[:BUCKET_HEADS]:
            if band == SHORT_BAND:
                yield beam.pvalue.TaggedOutput("verified", (ev, member))
            else:
                yield ev, member


class _MatchEvalNgrams(beam.DoFn):
    """doc -> (id, ("drop", evaluation id)) when the document shares an n-gram with the evaluation set."""

    def __init__(self, ngram: int):
        self._ngram = ngram
        self._table = None
        self._table_source = None

    def process(self, doc, table):
        if self._table_source is not table:
            self._table = dict(table)
            self._table_source = table
        hits = [self._table[k] for k in ngram_keys(dedup_words(doc.text), self._ngram) if k in self._table]
        if hits:
            yield doc.id, ("drop", min(hits))


class FindContamination(beam.PTransform):
    """docs -> decisions (id, ("drop", evaluation document id)) for documents too close to the
    configured evaluation set (SPEC stage 9): by MinHash Jaccard, or by any shared n-gram."""

    def __init__(self, config: Config):
        super().__init__()
        self._config = config

    def expand(self, docs):
        p = docs.pipeline
        dc = self._config.dedup.decontamination
        eval_config = dataclasses.replace(self._config, sources=(SourceConfig(
            name=EVAL_SOURCE, kind=dc.kind, paths=dc.paths, text_field=dc.text_field),))
        eval_docs = (p
                     | "ListEvalFiles" >> beam.Create(list_source_files(eval_config))
                     | "ReadEvalSet" >> beam.ParDo(ReadFiles(eval_config)).with_outputs(ReadFiles.REJECTED, ReadFiles.SKIPPED,
                                                                                         main="docs")).docs
        if dc.mode == "ngram":
            table = (eval_docs
                     | "EvalNgrams" >> beam.FlatMap(
                         lambda d: [(k, d.id) for k in ngram_keys(dedup_words(d.text), dc.ngram)])
                     | "FirstEvalPerNgram" >> beam.CombinePerKey(min))
            return docs | "MatchEvalNgrams" >> beam.ParDo(_MatchEvalNgrams(dc.ngram), beam.pvalue.AsList(table))

        mh = dataclasses.replace(self._config.dedup.minhash, ngram=dc.ngram, threshold=dc.threshold,
                                 bands=None, rows=None)
        doc_sig = docs | "DocSignatures" >> beam.ParDo(ComputeSignatures(mh, {})).with_outputs(
            ComputeSignatures.SIGNATURES, main="bands")
        eval_sig = eval_docs | "EvalSignatures" >> beam.ParDo(ComputeSignatures(mh, {})).with_outputs(
            ComputeSignatures.SIGNATURES, main="bands")
        pairs = ({"eval": eval_sig.bands, "doc": doc_sig.bands}
                 | "EvalBuckets" >> beam.CoGroupByKey()
                 | "EvalCandidates" >> beam.FlatMap(_eval_pairs).with_outputs("verified", main="pairs"))
        candidates = pairs.pairs | "DistinctEvalCandidates" >> beam.Distinct()
        verified, _ = ((candidates, eval_sig.signatures, doc_sig.signatures, eval_docs, docs)
                       | "Verify" >> VerifyPairs(dc.threshold, mh.num_perm, mh.exact_check_sigmas, dc.ngram))
        return ((verified, pairs.verified)
                | "AllContaminated" >> beam.Flatten()
                | "ContaminatedById" >> beam.Map(lambda pr: (pr[1][0][1], ("drop", pr[0][0][1])))
                | "GroupContaminated" >> beam.GroupByKey()
                | "FirstEvalMatch" >> beam.Map(lambda kv: (kv[0], min(kv[1]))))
