//! Batched reads. A refresh asks a type for up to `READ_BATCH` resources at
//! once ([`Handler::read_many`](crate::handler::Handler::read_many)); where
//! AWS describes many resources per call, a handler answers them through
//! [`read_batched`] in a call or two, converting each item with the code its
//! single `read` uses, so a batch reads back what one-by-one reads would.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::future::Future;

use iac_core::provider::{ReadRequest, ReadResult};
use iac_core::ProviderError;

/// What AWS answered for one chunk of keys.
pub(crate) enum Chunk<T> {
    /// The items AWS holds, by key; a key it does not answer is gone.
    Found(HashMap<String, T>),
    /// Some items, by key, and no word on the other keys, which are read
    /// one by one: AWS refused the chunk because one of its keys is gone
    /// (ELBv2 and ECR fail a describe of many ids on one missing id), or a
    /// listing was cut short before it cost more calls than single reads.
    Partial(HashMap<String, T>),
}

impl<T> Chunk<T> {
    /// AWS refused the whole chunk because one of its keys is gone.
    pub(crate) fn one_is_gone() -> Chunk<T> {
        Chunk::Partial(HashMap::new())
    }

    /// The same items under their keys lower-cased, for names AWS matches
    /// regardless of case (the batch's keys are lower-cased alike).
    pub(crate) fn lower_cased(self) -> Chunk<T> {
        let lower = |m: HashMap<String, T>| m.into_iter().map(|(k, v)| (k.to_ascii_lowercase(), v)).collect();
        match self {
            Chunk::Found(m) => Chunk::Found(lower(m)),
            Chunk::Partial(m) => Chunk::Partial(lower(m)),
        }
    }
}

/// Reads `reqs` in as few calls as `describe` allows.
///
/// `key` names what each request is described by, as (group, key): most
/// types describe by their id in one group (`""`); an ECS service is
/// described per cluster (its group), a route by its table (requests may
/// share a key). `describe` is called once per group and chunk of at most
/// `chunk` distinct keys, chunks concurrently. `convert` turns a request and
/// its item into the single read's answer; a request whose key AWS did not
/// answer is gone (`None`), as the single read says. One request, or a key
/// a chunk left unsettled, is read by `single`, the type's own `read`.
pub(crate) async fn read_batched<T, K, D, DF, C, CF, S, SF>(
    reqs: Vec<ReadRequest>,
    chunk: usize,
    key: K,
    describe: D,
    convert: C,
    single: S,
) -> Result<Vec<Option<ReadResult>>, ProviderError>
where
    T: Clone,
    K: Fn(&ReadRequest) -> Result<(String, String), ProviderError>,
    D: Fn(String, Vec<String>) -> DF,
    DF: Future<Output = Result<Chunk<T>, ProviderError>>,
    C: Fn(ReadRequest, T) -> CF,
    CF: Future<Output = Result<Option<ReadResult>, ProviderError>>,
    S: Fn(ReadRequest) -> SF,
    SF: Future<Output = Result<Option<ReadResult>, ProviderError>>,
{
    if reqs.len() <= 1 {
        return futures::future::try_join_all(reqs.into_iter().map(&single)).await;
    }
    let keys = reqs.iter().map(&key).collect::<Result<Vec<_>, _>>()?;
    let mut groups: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (g, k) in &keys {
        groups.entry(g).or_default().insert(k);
    }
    let chunks: Vec<(String, Vec<String>)> = groups
        .iter()
        .flat_map(|(g, ks)| {
            let ks: Vec<&str> = ks.iter().copied().collect();
            ks.chunks(chunk.max(1))
                .map(|c| (g.to_string(), c.iter().map(|k| k.to_string()).collect()))
                .collect::<Vec<_>>()
        })
        .collect();
    let answers = futures::future::try_join_all(chunks.iter().map(|(g, ks)| describe(g.clone(), ks.clone()))).await?;
    let mut found: HashMap<(String, String), T> = HashMap::new();
    let mut unsettled: HashSet<(String, String)> = HashSet::new();
    for ((g, ks), answer) in chunks.into_iter().zip(answers) {
        let (mut items, complete) = match answer {
            Chunk::Found(items) => (items, true),
            Chunk::Partial(items) => (items, false),
        };
        for k in ks {
            match items.remove(&k) {
                Some(item) => {
                    found.insert((g.clone(), k), item);
                }
                None if !complete => {
                    unsettled.insert((g.clone(), k));
                }
                None => {}
            }
        }
    }
    let (found, unsettled, convert, single) = (&found, &unsettled, &convert, &single);
    futures::future::try_join_all(reqs.into_iter().zip(keys).map(|(req, k)| async move {
        if unsettled.contains(&k) {
            single(req).await
        } else {
            match found.get(&k) {
                Some(item) => convert(req, item.clone()).await,
                None => Ok(None),
            }
        }
    }))
    .await
}

/// [`read_batched`] in its commonest shape: resources described by their id
/// alone, in chunks of at most `chunk`, each item turned into the single
/// read's answer in memory by `convert`.
pub(crate) async fn read_by_ids<T, D, DF, S, SF>(
    reqs: Vec<ReadRequest>,
    chunk: usize,
    describe: D,
    convert: impl Fn(ReadRequest, &T) -> ReadResult,
    single: S,
) -> Result<Vec<Option<ReadResult>>, ProviderError>
where
    T: Clone,
    D: Fn(Vec<String>) -> DF,
    DF: Future<Output = Result<Chunk<T>, ProviderError>>,
    S: Fn(ReadRequest) -> SF,
    SF: Future<Output = Result<Option<ReadResult>, ProviderError>>,
{
    let convert = &convert;
    read_batched(
        reqs,
        chunk,
        by_id,
        |_, ids| describe(ids),
        |req, item| async move { Ok(Some(convert(req, &item))) },
        single,
    )
    .await
}

/// Indexes described items by the key `id` gives them (items without one
/// are dropped), for [`Chunk::Found`].
pub(crate) fn by<T>(items: impl IntoIterator<Item = T>, id: impl Fn(&T) -> Option<&str>) -> Chunk<T> {
    Chunk::Found(items.into_iter().filter_map(|t| Some((id(&t)?.to_owned(), t))).collect())
}

/// The (group, key) of a resource described by its id alone.
pub(crate) fn by_id(req: &ReadRequest) -> Result<(String, String), ProviderError> {
    Ok((String::new(), req.id.clone()))
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use iac_core::{Urn, Value};

    use super::*;

    fn req(group: &str, id: &str) -> ReadRequest {
        ReadRequest {
            type_token: "test:Thing",
            urn: Urn::new(format!("thing/{id}")),
            id: id.to_owned(),
            inputs: Value::from(group),
            outputs: Value::map(),
        }
    }

    fn key(r: &ReadRequest) -> Result<(String, String), ProviderError> {
        Ok((r.inputs.as_str().unwrap_or_default().to_owned(), r.id.clone()))
    }

    fn found(id: &str, how: &str) -> Option<ReadResult> {
        Some(ReadResult { id: id.to_owned(), inputs: Value::from(how), outputs: Value::map() })
    }

    /// What each answer was made of (`batch <key>` or `single`), `None`
    /// for gone.
    fn how(read: &[Option<ReadResult>]) -> Vec<Option<String>> {
        read.iter().map(|r| r.as_ref().and_then(|r| r.inputs.as_str()).map(str::to_owned)).collect()
    }

    /// Reads `reqs` with a describe that answers `answer(group, keys)`,
    /// recording each describe's (group, keys) and each single read's id.
    async fn run(
        reqs: Vec<ReadRequest>,
        chunk: usize,
        answer: impl Fn(&[String]) -> Chunk<String>,
    ) -> (Vec<Option<String>>, Vec<(String, Vec<String>)>, Vec<String>) {
        let (described, singles) = (Mutex::new(Vec::new()), Mutex::new(Vec::new()));
        let (d, s, answer) = (&described, &singles, &answer);
        let read = read_batched(
            reqs,
            chunk,
            key,
            |g, ks| async move {
                let a = answer(&ks);
                d.lock().unwrap().push((g, ks));
                Ok(a)
            },
            |r, item: String| async move { Ok(found(&r.id, &item)) },
            |r| async move {
                s.lock().unwrap().push(r.id.clone());
                Ok(found(&r.id, "single"))
            },
        )
        .await
        .unwrap();
        let mut described = described.into_inner().unwrap();
        described.sort();
        let mut singles = singles.into_inner().unwrap();
        singles.sort();
        (how(&read), described, singles)
    }

    /// The items of `keys` but `except`, as a describe would answer them.
    fn items(keys: &[String], except: &str) -> HashMap<String, String> {
        keys.iter().filter(|k| *k != except).map(|k| (k.clone(), format!("batch {k}"))).collect()
    }

    fn answers(a: &[Option<&str>]) -> Vec<Option<String>> {
        a.iter().map(|s| s.map(str::to_owned)).collect()
    }

    fn strings(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[tokio::test]
    async fn answers_in_order_per_group_and_chunk_and_a_key_not_answered_is_gone() {
        let reqs = vec![req("a", "3"), req("b", "1"), req("a", "1"), req("a", "2"), req("a", "gone")];
        let (read, described, singles) = run(reqs, 2, |ks| Chunk::Found(items(ks, "gone"))).await;
        assert_eq!(
            described,
            vec![
                ("a".to_owned(), strings(&["1", "2"])),
                ("a".to_owned(), strings(&["3", "gone"])),
                ("b".to_owned(), strings(&["1"])),
            ]
        );
        assert_eq!(read, answers(&[Some("batch 3"), Some("batch 1"), Some("batch 1"), Some("batch 2"), None]));
        assert!(singles.is_empty(), "nothing read one by one: {singles:?}");
    }

    #[tokio::test]
    async fn a_refused_chunk_is_read_one_by_one_and_the_others_are_not() {
        let reqs = vec![req("", "1"), req("", "2"), req("", "3"), req("", "4")];
        // The chunk holding 3 is refused whole (3 is gone); 1 and 2 answer.
        let (read, _, singles) =
            run(
                reqs,
                2,
                |ks| {
                    if ks.iter().any(|k| k == "3") {
                        Chunk::one_is_gone()
                    } else {
                        Chunk::Found(items(ks, ""))
                    }
                },
            )
            .await;
        assert_eq!(singles, strings(&["3", "4"]));
        assert_eq!(read, answers(&[Some("batch 1"), Some("batch 2"), Some("single"), Some("single")]));
    }

    #[tokio::test]
    async fn a_partial_chunk_settles_what_it_found_and_reads_the_rest_one_by_one() {
        // Requests may share a key (routes of one table): one describe.
        let reqs = vec![req("", "1"), req("", "2"), req("", "1")];
        let (read, described, singles) = run(reqs, 10, |ks| Chunk::Partial(items(ks, "2"))).await;
        assert_eq!(described, vec![(String::new(), strings(&["1", "2"]))]);
        assert_eq!(singles, strings(&["2"]));
        assert_eq!(read, answers(&[Some("batch 1"), Some("single"), Some("batch 1")]));
    }

    #[tokio::test]
    async fn one_request_is_the_single_read() {
        let (read, described, singles) = run(vec![req("", "1")], 10, |ks| Chunk::Found(items(ks, ""))).await;
        assert!(described.is_empty());
        assert_eq!(singles, strings(&["1"]));
        assert_eq!(read, answers(&[Some("single")]));
    }

    #[test]
    fn lower_cased_keys() {
        let Chunk::Found(m) = Chunk::Found(HashMap::from([("Db-One".to_owned(), 1)])).lower_cased() else {
            panic!("still found")
        };
        assert_eq!(m.get("db-one"), Some(&1));
    }
}
