use super::*;

/// A safetensors file of one f32 `embeddings` tensor.
pub(crate) fn safetensors(rows: &[&[f32]]) -> Vec<u8> {
    let dims = rows[0].len();
    let data: Vec<u8> = rows.iter().flat_map(|r| r.iter().flat_map(|v| v.to_le_bytes())).collect();
    let head = format!(
        r#"{{"embeddings":{{"dtype":"F32","shape":[{},{}],"data_offsets":[0,{}]}}}}"#,
        rows.len(),
        dims,
        data.len()
    );
    let mut out = (head.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(head.as_bytes());
    out.extend_from_slice(&data);
    out
}

pub(crate) fn tokenizer(tokens: &[&str]) -> Vec<u8> {
    let vocab: serde_json::Map<String, serde_json::Value> =
        tokens.iter().enumerate().map(|(i, t)| (t.to_string(), i.into())).collect();
    serde_json::json!({
        "normalizer": {"type": "BertNormalizer", "lowercase": true},
        "model": {"type": "WordPiece", "continuing_subword_prefix": "##", "unk_token": "[UNK]", "vocab": vocab}
    })
    .to_string()
    .into_bytes()
}

/// A model of five tokens in two dimensions: "tax" and "levy" point the same way.
pub(crate) fn tiny() -> Vec<u8> {
    let rows: [&[f32]; 5] = [&[0.0, 0.0], &[1.0, 0.0], &[0.9, 0.1], &[0.0, 1.0], &[0.5, -0.25]];
    pack(&safetensors(&rows), &tokenizer(&["[UNK]", "tax", "levy", "bread", "##es"])).unwrap()
}

#[test]
fn the_model_format_is_pinned_by_a_test_vector() {
    // Changing these bytes breaks every shipped model: bump MODEL_VERSION instead.
    assert_eq!(hex::encode(tiny()), PINNED);
    let model = Model::from_bytes(&hex::decode(PINNED).unwrap()).unwrap();
    assert_eq!(model.dims(), 2);
    assert_eq!(model.tokens("Taxes, LEVY and bread!"), vec![1, 4, 2, 3]);
}

const PINNED: &str = "544b454d010205055b554e4b5d03746178046c6576790562726561640423236573000000000402013cd436e83b0402013c0402813b00007f007f0e007f7fc0";

#[test]
fn a_word_with_an_unknown_part_is_left_out_and_no_known_word_gives_no_vector() {
    let model = Model::from_bytes(&tiny()).unwrap();
    assert_eq!(model.tokens("breadless tax"), vec![1]);
    assert_eq!(model.embed("nothing known here"), None);
    let v = model.embed("tax").unwrap();
    assert!((v[0] - 1.0).abs() < 1e-3 && v[1].abs() < 1e-3, "{v:?}");
}

#[test]
fn words_are_folded_like_the_search_tokenizer_before_lookup() {
    let model = Model::from_bytes(&tiny()).unwrap();
    assert_eq!(model.tokens("TÄX Lévy"), model.tokens("tax levy"));
}

#[test]
fn damaged_or_newer_models_are_refused_with_a_reason() {
    let bytes = tiny();
    assert_eq!(Model::from_bytes(&bytes[..bytes.len() - 1]).unwrap_err(), ModelError::Damaged("truncated"));
    let mut longer = bytes.clone();
    longer.push(0);
    assert_eq!(Model::from_bytes(&longer).unwrap_err(), ModelError::Damaged("trailing bytes"));
    let mut newer = bytes.clone();
    newer[4] = MODEL_VERSION + 1;
    assert_eq!(Model::from_bytes(&newer).unwrap_err(), ModelError::NewerVersion);
    assert_eq!(Model::from_bytes(b"nope").unwrap_err(), ModelError::Damaged("wrong magic"));
}

#[test]
fn packing_refuses_files_that_are_not_a_wordpiece_model2vec_model() {
    let rows: [&[f32]; 1] = [&[1.0]];
    let st = safetensors(&rows);
    assert!(matches!(pack(&st[..10], &tokenizer(&["a"])), Err(ModelError::Source(_))));
    assert!(matches!(pack(&st, b"{}"), Err(ModelError::Source(_))));
    assert!(matches!(pack(&st, &tokenizer(&["a", "b"])), Err(ModelError::Source(_))));
}

#[test]
fn a_query_made_of_unknown_or_split_words_has_no_vector() {
    let model = Model::from_bytes(&tiny()).unwrap();
    assert!(model.embed("taxes").is_some(), "a message's words may be split into pieces");
    assert_eq!(model.embed_query("taxes"), None, "a query's only into two long ones: `##es` is short");
    assert!(model.embed_query("taxes levy").is_some());
    assert_eq!(model.embed_query("breadless"), None, "an unknown part");
}

#[test]
fn the_vocabulary_finds_words_pieces_repeats_and_tokens_whose_hash_is_taken() {
    let mut v = Vocab::default();
    for t in ["tax", "##tax", "levy", "tax"] {
        v.push(t);
    }
    assert_eq!((v.get(false, "tax"), v.get(true, "tax"), v.get(false, "levy")), (Some(3), Some(1), Some(2)));
    assert_eq!((v.get(true, "levy"), v.get(false, "ta"), v.get(false, "")), (None, None, None));
    // A token whose hash another token holds (forced here: real collisions are rare).
    v.words.insert(Vocab::hash("bread"), 2);
    v.push("bread");
    assert_eq!((v.get(false, "bread"), v.get(false, "levy")), (Some(4), Some(2)));
}

/// Random bytes, cuts and changed bytes of a valid model give a model or an error,
/// never a panic, and an accepted model embeds text (the fuzz target `model_decoder`
/// does the same for longer).
#[test]
fn any_bytes_given_as_a_model_are_refused_or_read_never_a_panic() {
    use super::super::tests::Rng;
    let valid = tiny();
    let mut rng = Rng(2026);
    let mut inputs: Vec<Vec<u8>> = (0..valid.len()).map(|n| valid[..n].to_vec()).collect();
    for _ in 0..3000 {
        let mut changed = valid.clone();
        for _ in 0..1 + rng.below(4) {
            let at = rng.below(changed.len());
            changed[at] = rng.next() as u8;
        }
        inputs.push(changed);
        let mut random = b"TKEM\x01".to_vec();
        let len = rng.below(200);
        random.extend(rng.bytes(len));
        inputs.push(random);
        let len = rng.below(64);
        inputs.push(rng.bytes(len));
    }
    let mut read = 0;
    for bytes in &inputs {
        if let Ok(model) = Model::from_bytes(bytes) {
            read += 1;
            for text in ["Taxes, LEVY and bread!", "breadless ##es 税 x", ""] {
                if let Some(v) = model.embed(text) {
                    assert_eq!(v.len(), model.dims());
                }
                let _ = model.embed_query(text);
            }
        }
    }
    assert!(read > 100, "some changed models are still models ({read})");
}
