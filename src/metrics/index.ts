// Scoring predictions against labels, as the reference tools score them: COCO boxes as pycocotools' COCOeval,
// Pascal VOC boxes as the VOC devkit, segmentation masks as torchvision's reference scripts, and classification.
// Pure functions over data in memory; reading datasets and running models is done elsewhere.
export { evaluateCoco, type CocoCategory, type CocoEvaluation, type CocoGroundTruth, type CocoImage } from './coco.js';
export { CocoBoxEvaluator, type CocoAccumulation, type CocoAnnotation, type CocoDetection } from './coco-evaluator.js';
export { COCO_STATS, summarizeCoco, type CocoCategoryFigures, type CocoStatDefinition, type CocoSummary } from './coco-summary.js';
export { AREA_RANGES, IOU_THRESHOLDS, MAX_DETECTIONS, RECALL_THRESHOLDS, type AreaLabel } from './coco-params.js';
export { cocoJson, formatCocoCategories, formatCocoStats, type CocoJson } from './coco-format.js';
export {
  evaluateVoc,
  formatVoc,
  vocJson,
  VOC_IOU_THRESHOLD,
  type VocBox,
  type VocClassFigures,
  type VocDetection,
  type VocEvaluation,
  type VocObject,
} from './voc.js';
export { ConfusionMatrix, formatSegmentation, segmentationFigures, segmentationJson, type SegmentationFigures, type SegmentationJson } from './segmentation.js';
export { confusionSvg, evaluationReport, formatReport, type ClassFigures, type EvaluationReport } from './classification.js';
export { precisionRecallSvg, segmentationIouSvg } from './charts.js';
export { MetricsInputError } from './input-error.js';
