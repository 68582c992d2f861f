# ctest labels by test name, applied after gtest's discovered tests are defined (this
# file is the directory's last TEST_INCLUDE_FILES entry; cli_end_to_end is labelled
# in CMakeLists.txt), so `ctest -L slow`,
# `ctest -LE needs-data` select by them and ctest's label summary says what ran.
#   slow        end-to-end learning runs and the command-line script (seconds each)
#   needs-data  real GSM8K / BIG-Bench-Hard files (../shared/data or $ELAB_DATA); they
#               report Skipped with the reason when the folder is absent
#   nccl        would need CUDA + NCCL: none here (the CPU build refuses nccl with an error, tested in unit)
#   timing      none: speed is checked by benchmarks (elab bench, bench/), never by tests
#   (unlabelled: the unit tests)
set(elab_slow
    Learning.TinyModelLearnsTwoDigitAdditionOnUnseenPairs
    FinetuneEndToEnd.FullAndLoraOnLastletter
    FinetuneEndToEnd.IclExemplarsAreTheFirstKOfTheFineTuningExamples
    ExperimentControl.FixedSetEvalsSnapshotsAndBitIdenticalResume
    ExperimentControl.StudiesOfShapesSweepsSnapshotsAndCurves
    Registries.AMethodRegisteredInOneFileIsPlannedRunAndReported)
set(elab_needs_data
    Gsm8k.EveryGoldAnswerTextScoresCorrect
    Bbh.AllSubtasksLoadAndEveryTargetScoresCorrect
    Protocol.BbhWholeSetsCountedAndEveryTargetCorrectUnderTheStrictRule
    Protocol.Gsm8kWholeSetCountedAndEveryGoldCorrectUnderTheStrictRule
    Replay.StrictAndLenientExtractionAreBothReportedWithAnAudit
    Replay.Gsm8kAndBbhAllEndToEnd
    "Tokenizers/Family.EveryIdEqualsHuggingFaceTokenizers/\"gpt2\""
    "Tokenizers/Family.EveryIdEqualsHuggingFaceTokenizers/\"pythia\""
    "Tokenizers/Family.EveryIdEqualsHuggingFaceTokenizers/\"smollm\""
    "Tokenizers/Family.EveryIdEqualsHuggingFaceTokenizers/\"llama3\""
    "Tokenizers/Family.EveryIdEqualsHuggingFaceTokenizers/\"qwen2\""
    "Tokenizers/Family.EveryIdEqualsHuggingFaceTokenizers/\"llama2\""
    "Tokenizers/Family.EveryIdEqualsHuggingFaceTokenizers/\"gemma\""
    "Tokenizers/Family.EveryIdEqualsHuggingFaceTokenizers/\"smollm2\""
    HfTokenizer.SpecialTokensAndStopsComeFromTheConfig
    "Tokenizers/Family.WrittenTokenizerJsonReadsBackTheSame/\"gpt2\""
    "Tokenizers/Family.WrittenTokenizerJsonReadsBackTheSame/\"pythia\""
    "Tokenizers/Family.WrittenTokenizerJsonReadsBackTheSame/\"smollm\""
    "Tokenizers/Family.WrittenTokenizerJsonReadsBackTheSame/\"llama3\""
    "Tokenizers/Family.WrittenTokenizerJsonReadsBackTheSame/\"qwen2\""
    "Tokenizers/Family.WrittenTokenizerJsonReadsBackTheSame/\"llama2\""
    "Tokenizers/Family.WrittenTokenizerJsonReadsBackTheSame/\"gemma\""
    "Tokenizers/Family.WrittenTokenizerJsonReadsBackTheSame/\"smollm2\""
    SmolLM2Gguf.TokenizerEqualsLlamaCppOnTheParityCorpus)
# A renamed test is an error here (set_tests_properties names one that does not exist):
# the lists cannot drift silently.
set_tests_properties(${elab_slow} PROPERTIES LABELS slow)
set_tests_properties(${elab_needs_data} PROPERTIES LABELS needs-data)
