//! What can be wrong with a condition, and where in its text.

use super::ast::{Span, Ty};

/// `，是否想写 `x`？` when there is a likely intended name.
fn hint(s: &Option<String>) -> String {
    s.as_ref()
        .map(|s| format!("，是否想写 `{s}`？"))
        .unwrap_or_default()
}

/// `；日期写作 DATE 'YYYY-MM-DD'` when a date is compared with text.
fn date_hint(a: Ty, b: Ty) -> &'static str {
    if matches!((a, b), (Ty::Date, Ty::Text) | (Ty::Text, Ty::Date)) {
        "；日期写作 DATE 'YYYY-MM-DD'"
    } else {
        ""
    }
}

/// One problem in a condition. Messages are Chinese, one line; names and values as
/// written, in backticks. [`CheckError::span`] says where it is in the condition's text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckError {
    /// More tokens than [`super::check::MAX_CONDITION_TOKENS`].
    #[error("条件过长：共 {tokens} 个词（字段、运算符、括号等），上限 {max} 个；请拆分为多条规则或使用派生字段")]
    TooLong { tokens: usize, max: usize },
    /// Nested deeper than [`super::check::MAX_CONDITION_DEPTH`].
    #[error("条件嵌套过深：{depth} 层，上限 {max} 层（每个 AND、OR、比较、运算和函数各算一层）；请拆分为多条规则或使用派生字段")]
    TooDeep { depth: usize, max: usize },
    /// The text is not an expression; `detail` is the parser's own (English) account.
    #[error("语法错误：{}（{detail}）", if found.is_empty() { "条件不完整".to_string() } else { format!("无法理解 `{found}`") })]
    Syntax {
        /// The token where parsing stopped, empty at the end of the text.
        found: String,
        detail: String,
        span: Span,
    },
    /// The whole condition has the wrong type.
    #[error("条件的结果是{}，应为{}", .found.label(), .want.label())]
    ResultType { found: Ty, want: Ty },
    #[error("未知字段 `{name}`{}", hint(.suggestion))]
    UnknownField {
        name: String,
        suggestion: Option<String>,
        span: Span,
    },
    #[error("未知参数 `params.{name}`{}", hint(.suggestion))]
    UnknownParam {
        name: String,
        suggestion: Option<String>,
        span: Span,
    },
    /// A dotted name other than `params.NAME`.
    #[error("未知名称 `{name}`；参数写作 `params.NAME`")]
    UnknownName { name: String, span: Span },
    #[error("未知函数 `{name}`{}", hint(.suggestion))]
    UnknownFunction {
        name: String,
        suggestion: Option<String>,
        span: Span,
    },
    /// A text compared with an enum or list field is not in its vocabulary.
    #[error("`{value}` 不是 `{field}` 的取值{}", hint(.suggestion))]
    NotInVocabulary {
        value: String,
        field: String,
        suggestion: Option<String>,
        span: Span,
    },
    /// An operand or argument of the wrong type; `role` says which, in Chinese.
    #[error("{role}应为{}，但 `{expr}` 是{}", .want.label(), .found.label())]
    WrongType {
        role: String,
        expr: String,
        found: Ty,
        want: Ty,
        span: Span,
    },
    #[error("不能比较{} `{left}` 与{} `{right}`{}", .left_ty.label(), .right_ty.label(), date_hint(*.left_ty, *.right_ty))]
    Incomparable {
        left: String,
        left_ty: Ty,
        right: String,
        right_ty: Ty,
        span: Span,
    },
    #[error("不能直接比较列表（`{expr}`）；请用 HAS_ANY、ALL_IN 或 LEN")]
    ListCompared { expr: String, span: Span },
    #[error("`{expr}` 是列表；请用 HAS_ANY 或 ALL_IN，而不是 IN")]
    ListIn { expr: String, span: Span },
    #[error("`{item}`（{}）不能出现在与{} `{expr}` 比较的列表中", .item_ty.label(), .expr_ty.label())]
    InListType {
        item: String,
        item_ty: Ty,
        expr: String,
        expr_ty: Ty,
        span: Span,
    },
    #[error("`{text}` 不是日期；日期写作 DATE 'YYYY-MM-DD'")]
    BadDate { text: String, span: Span },
    #[error("`{text}` 不是数字")]
    BadNumber { text: String, span: Span },
    #[error("文本用单引号括起：'{text}'")]
    DoubleQuoted { text: String, span: Span },
    /// `date - date`: the days between are written with DAYS or WORKDAYS.
    #[error("`{left} - {right}`：两个日期相隔的天数写作 DAYS({right}, {left}) 或 WORKDAYS({right}, {left})")]
    DateDifference {
        left: String,
        right: String,
        span: Span,
    },
    #[error("算术运算需要数字，但 `{left}` 是{}，`{right}` 是{}", .left_ty.label(), .right_ty.label())]
    Arithmetic {
        left: String,
        left_ty: Ty,
        right: String,
        right_ty: Ty,
        span: Span,
    },
    /// The results of CASE, or the arguments of COALESCE, differ in type.
    #[error("{construct} 的各项类型须一致；`{expr}` 是{}，不是{}", .found.label(), .want.label())]
    MixedTypes {
        construct: &'static str,
        expr: String,
        found: Ty,
        want: Ty,
        span: Span,
    },
    #[error("{function} 需要 {want} 个参数，而不是 {got} 个")]
    Arity {
        function: String,
        want: usize,
        got: usize,
        span: Span,
    },
    /// A function or CASE without the arguments or branches it needs.
    #[error("{function} 至少需要{need}")]
    TooFewArguments {
        function: String,
        need: &'static str,
        span: Span,
    },
    #[error("WORKDAYS 的参数须为日期字段、AS_OF 或 DATE 字面量，不能是 `{expr}`")]
    WorkdaysArgument { expr: String, span: Span },
    #[error("{function} 的取值须为单引号括起的文本，不能是 `{expr}`")]
    ListValue {
        function: String,
        expr: String,
        span: Span,
    },
    /// Something the condition language does not have; `what` names it in Chinese and
    /// `hint` (possibly empty) says what to write instead.
    #[error("不支持{what}{hint}")]
    Unsupported {
        what: String,
        hint: &'static str,
        span: Span,
    },
}

impl CheckError {
    /// Where the problem is in the condition's text; unknown for problems of the whole
    /// condition (its length, depth or type).
    pub fn span(&self) -> Span {
        use CheckError::*;
        match self {
            TooLong { .. } | TooDeep { .. } | ResultType { .. } => Span::default(),
            Syntax { span, .. }
            | UnknownField { span, .. }
            | UnknownParam { span, .. }
            | UnknownName { span, .. }
            | UnknownFunction { span, .. }
            | NotInVocabulary { span, .. }
            | WrongType { span, .. }
            | Incomparable { span, .. }
            | ListCompared { span, .. }
            | ListIn { span, .. }
            | InListType { span, .. }
            | BadDate { span, .. }
            | BadNumber { span, .. }
            | DoubleQuoted { span, .. }
            | DateDifference { span, .. }
            | Arithmetic { span, .. }
            | MixedTypes { span, .. }
            | Arity { span, .. }
            | TooFewArguments { span, .. }
            | WorkdaysArgument { span, .. }
            | ListValue { span, .. }
            | Unsupported { span, .. } => *span,
        }
    }
}
