/**
 * Never silently wrong: every config.json field is either read by its family's reader
 * (listed in ArchFamily.fields, including fields whose effect arrives through the weights,
 * such as attention_bias) or known not to change an fp32 forward pass. Any other field is
 * refused, naming it and its value, rather than guessed at.
 */
import { preview, type RawConfig } from './config';

/** Fields that do not change the forward pass: metadata, training, generation, token ids. */
export const HARMLESS_FIELDS: readonly string[] = [
  // identity and bookkeeping
  '_name_or_path', 'architectures', 'model_type', 'transformers_version', 'dtype', 'torch_dtype', 'auto_map', 'tokenizer_class',
  'id2label', 'label2id', 'task_specific_params', 'problem_type', 'finetuning_task', 'prefix', 'return_dict', 'output_attentions',
  'output_hidden_states', 'torchscript', 'use_return_dict', 'is_encoder_decoder', 'keys_to_ignore_at_inference',
  // token ids (used by tokenizers and generation, not by the forward pass)
  'bos_token_id', 'eos_token_id', 'pad_token_id', 'sep_token_id', 'decoder_start_token_id',
  // training only: dropout is off at inference, initialisers only matter before training
  'attention_dropout', 'attn_pdrop', 'embd_pdrop', 'resid_pdrop', 'dropout', 'hidden_dropout', 'embed_dropout', 'resid_dropout',
  'embedding_dropout', 'residual_dropout', 'classifier_dropout', 'attention_probs_dropout_prob', 'hidden_dropout_prob', 'layerdrop', 'initializer_range', 'init_std', 'initializer_factor',
  'summary_type', 'summary_use_proj', 'summary_activation', 'summary_proj_to_labels', 'summary_first_dropout', 'router_aux_loss_coef',
  // generation and caching
  'use_cache', 'cache_implementation', 'max_length', 'do_sample', 'is_decoder', 'chunk_size_feed_forward', 'gradient_checkpointing',
  // GPT-BigCode's custom inference-runner settings (batching and KV-cache preallocation)
  'inference_runner', 'max_batch_size', 'max_sequence_length', 'pad_key_length', 'pre_allocate_kv_cache', 'validate_runner_input',
  // numerics FFN Lens always has: everything is computed in fp32
  'attention_softmax_in_fp32', 'scale_attention_softmax_in_fp32', 'reorder_and_upcast_attn',
  // tensor-parallel slicing of the same matrices (pretraining_tp): the same product
  'pretraining_tp',
];

/** Fields every family's reader handles the same way. */
export const COMMON_FIELDS: readonly string[] = ['vocab_size', 'tie_word_embeddings'];

export function checkFields(raw: RawConfig, implemented: readonly string[]): void {
  const known = new Set([...HARMLESS_FIELDS, ...COMMON_FIELDS, ...implemented]);
  const unknown = Object.keys(raw).filter((k) => !known.has(k));
  if (unknown.length === 0) return;
  const show = (k: string) => `${k} = ${preview(raw[k])}`;
  throw new Error(
    `config.json (model_type "${String(raw.model_type)}"): ${unknown.length === 1 ? 'field' : 'fields'} ${unknown.map(show).join('; ')} ` +
      'not implemented by FFN Lens for this family; refusing rather than guessing how it changes the forward pass',
  );
}
