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
    TooLong {
        /// How many tokens it has.
        tokens: usize,
        /// The limit.
        max: usize,
    },
    /// Nested deeper than [`super::check::MAX_CONDITION_DEPTH`].
    #[error("条件嵌套过深：{depth} 层，上限 {max} 层（每个 AND、OR、比较、运算和函数各算一层）；请拆分为多条规则或使用派生字段")]
    TooDeep {
        /// How deep it nests.
        depth: usize,
        /// The limit.
        max: usize,
    },
    /// The text is not an expression; `detail` is the parser's own (English) account.
    #[error("语法错误：{}（{detail}）", if found.is_empty() { "条件不完整".to_string() } else { format!("无法理解 `{found}`") })]
    Syntax {
        /// The token where parsing stopped, empty at the end of the text.
        /// The type it has.
        found: String,
        /// The parser's own account of the error (English).
        detail: String,
        /// Where it is in the condition's text.
        span: Span,
    },
    /// The whole condition has the wrong type.
    #[error("条件的结果是{}，应为{}", .found.label(), .want.label())]
    ResultType {
        /// The type it has.
        found: Ty,
        /// The type it must have.
        want: Ty,
    },
    /// A name that is neither a field, a derived field nor `AS_OF`.
    #[error("未知字段 `{name}`{}", hint(.suggestion))]
    UnknownField {
        /// The name as written.
        name: String,
        /// The known name closest to it, when close enough to be a likely typo.
        suggestion: Option<String>,
        /// Where it is in the condition's text.
        span: Span,
    },
    /// `params.NAME` where NAME is not a parameter of the pack.
    #[error("未知参数 `params.{name}`{}", hint(.suggestion))]
    UnknownParam {
        /// The name as written.
        name: String,
        /// The known name closest to it, when close enough to be a likely typo.
        suggestion: Option<String>,
        /// Where it is in the condition's text.
        span: Span,
    },
    /// A dotted name other than `params.NAME`.
    #[error("未知名称 `{name}`；参数写作 `params.NAME`")]
    UnknownName {
        /// The name as written.
        name: String,
        /// Where it is in the condition's text.
        span: Span,
    },
    /// A function the condition language does not have.
    #[error("未知函数 `{name}`{}", hint(.suggestion))]
    UnknownFunction {
        /// The name as written.
        name: String,
        /// The known name closest to it, when close enough to be a likely typo.
        suggestion: Option<String>,
        /// Where it is in the condition's text.
        span: Span,
    },
    /// A text compared with an enum or list field is not in its vocabulary.
    #[error("`{value}` 不是 `{field}` 的取值{}", hint(.suggestion))]
    NotInVocabulary {
        /// The text as written.
        value: String,
        /// The field (or list expression) compared with.
        field: String,
        /// The known name closest to it, when close enough to be a likely typo.
        suggestion: Option<String>,
        /// Where it is in the condition's text.
        span: Span,
    },
    /// An operand or argument of the wrong type; `role` says which, in Chinese.
    #[error("{role}应为{}，但 `{expr}` 是{}", .want.label(), .found.label())]
    WrongType {
        /// Which operand or argument, in Chinese (`NOT 的操作数`).
        role: String,
        /// The expression, as the condition language prints it.
        expr: String,
        /// The type it has.
        found: Ty,
        /// The type it must have.
        want: Ty,
        /// Where it is in the condition's text.
        span: Span,
    },
    /// A comparison of two values of different types.
    #[error("不能比较{} `{left}` 与{} `{right}`{}", .left_ty.label(), .right_ty.label(), date_hint(*.left_ty, *.right_ty))]
    Incomparable {
        /// The left operand, printed.
        left: String,
        /// The type of the left operand.
        left_ty: Ty,
        /// The right operand, printed.
        right: String,
        /// The type of the right operand.
        right_ty: Ty,
        /// Where it is in the condition's text.
        span: Span,
    },
    /// A comparison of lists, which have no order.
    #[error("不能直接比较列表（`{expr}`）；请用 HAS_ANY、ALL_IN 或 LEN")]
    ListCompared {
        /// The expression, as the condition language prints it.
        expr: String,
        /// Where it is in the condition's text.
        span: Span,
    },
    /// `IN` on a list field.
    #[error("`{expr}` 是列表；请用 HAS_ANY 或 ALL_IN，而不是 IN")]
    ListIn {
        /// The expression, as the condition language prints it.
        expr: String,
        /// Where it is in the condition's text.
        span: Span,
    },
    /// An item of an `IN (…)` list of another type than the value compared.
    #[error("`{item}`（{}）不能出现在与{} `{expr}` 比较的列表中", .item_ty.label(), .expr_ty.label())]
    InListType {
        /// The list item, printed.
        item: String,
        /// The item's type.
        item_ty: Ty,
        /// The expression, as the condition language prints it.
        expr: String,
        /// The type of the expression compared with.
        expr_ty: Ty,
        /// Where it is in the condition's text.
        span: Span,
    },
    /// A `DATE '…'` literal that is not a date.
    #[error("`{text}` 不是日期；日期写作 DATE 'YYYY-MM-DD'")]
    BadDate {
        /// The text as written.
        text: String,
        /// Where it is in the condition's text.
        span: Span,
    },
    /// A number literal that cannot be read.
    #[error("`{text}` 不是数字")]
    BadNumber {
        /// The text as written.
        text: String,
        /// Where it is in the condition's text.
        span: Span,
    },
    /// Text in double quotes (an identifier in SQL).
    #[error("文本用单引号括起：'{text}'")]
    DoubleQuoted {
        /// The text as written.
        text: String,
        /// Where it is in the condition's text.
        span: Span,
    },
    /// `date - date`: the days between are written with DAYS or WORKDAYS.
    #[error("`{left} - {right}`：两个日期相隔的天数写作 DAYS({right}, {left}) 或 WORKDAYS({right}, {left})")]
    DateDifference {
        /// The left operand, printed.
        left: String,
        /// The right operand, printed.
        right: String,
        /// Where it is in the condition's text.
        span: Span,
    },
    /// Arithmetic on values that are not numbers (or a date and a number).
    #[error("算术运算需要数字，但 `{left}` 是{}，`{right}` 是{}", .left_ty.label(), .right_ty.label())]
    Arithmetic {
        /// The left operand, printed.
        left: String,
        /// The type of the left operand.
        left_ty: Ty,
        /// The right operand, printed.
        right: String,
        /// The type of the right operand.
        right_ty: Ty,
        /// Where it is in the condition's text.
        span: Span,
    },
    /// The results of CASE, or the arguments of COALESCE, differ in type.
    #[error("{construct} 的各项类型须一致；`{expr}` 是{}，不是{}", .found.label(), .want.label())]
    MixedTypes {
        /// `CASE` or `COALESCE`.
        construct: &'static str,
        /// The expression, as the condition language prints it.
        expr: String,
        /// The type it has.
        found: Ty,
        /// The type it must have.
        want: Ty,
        /// Where it is in the condition's text.
        span: Span,
    },
    /// A function given the wrong number of arguments.
    #[error("{function} 需要 {want} 个参数，而不是 {got} 个")]
    Arity {
        /// The function (or construct) name, upper case.
        function: String,
        /// The type it must have.
        want: usize,
        /// How many it was given.
        got: usize,
        /// Where it is in the condition's text.
        span: Span,
    },
    /// A function or CASE without the arguments or branches it needs.
    #[error("{function} 至少需要{need}")]
    TooFewArguments {
        /// The function (or construct) name, upper case.
        function: String,
        /// What is missing at least, in Chinese.
        need: &'static str,
        /// Where it is in the condition's text.
        span: Span,
    },
    /// A WORKDAYS argument other than a date field, `AS_OF` or a date literal.
    #[error("WORKDAYS 的参数须为日期字段、AS_OF 或 DATE 字面量，不能是 `{expr}`")]
    WorkdaysArgument {
        /// The expression, as the condition language prints it.
        expr: String,
        /// Where it is in the condition's text.
        span: Span,
    },
    /// A HAS_ANY or ALL_IN value that is not a text literal.
    #[error("{function} 的取值须为单引号括起的文本，不能是 `{expr}`")]
    ListValue {
        /// The function (or construct) name, upper case.
        function: String,
        /// The expression, as the condition language prints it.
        expr: String,
        /// Where it is in the condition's text.
        span: Span,
    },
    /// Something the condition language does not have; `what` names it in Chinese and
    /// `hint` (possibly empty) says what to write instead.
    #[error("不支持{what}{hint}")]
    Unsupported {
        /// What is not supported, in Chinese.
        what: String,
        /// What to write instead, in Chinese, or empty.
        hint: &'static str,
        /// Where it is in the condition's text.
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
